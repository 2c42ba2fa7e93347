/**
 * The register keeps each statement it prepares for as long as its connection (nodejs/node#65446:
 * Node 24.19-24.21 abort when the garbage collector frees one, and preparing costs more than
 * running), and a kept statement answers each caller in the mode it expects.
 */
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { temporaryRegister } from '../helpers/register-file.js';

describe("the register's statements", () => {
  it('are prepared once per SQL text and kept: the same text gives the same statement', () => {
    const db = temporaryRegister();
    const first = db.$client.prepare('select count(*) as n from letters');
    expect(db.$client.prepare('select count(*) as n from letters')).toBe(first);
    expect(db.$client.prepare('select count(*) as n from letters where id > 0')).not.toBe(first);
  });

  it('answer rows as objects to the next caller after drizzle read the same SQL as arrays', () => {
    const db = temporaryRegister();
    // drizzle turns raw mode on for this one, and never off.
    expect(db.values(sql`select 1 as one`)).toEqual([[1]]);
    expect(db.$client.prepare('select 1 as one').get()).toEqual({ one: 1 });
    expect(db.values(sql`select 1 as one`)).toEqual([[1]]);
  });
});
