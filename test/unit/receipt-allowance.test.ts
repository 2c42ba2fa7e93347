import { describe, expect, it } from 'vitest';
import type { ChannelAddress } from '../../src/channels/port.js';
import { createReceiptAllowance } from '../../src/receipts/receipt-allowance.js';
import { temporarySqliteRegister } from '../helpers/register-file.js';

/** The allowance as registering uses it: each take in a transaction of the register. */
function allowance(perHour: number) {
  const database = temporarySqliteRegister(async () => {});
  const cap = createReceiptAllowance({ perHour });
  const take = async (place: ChannelAddress, at: Date) => (await database.write((tx) => cap.take(tx, [{ place, at }])))[0]!;
  /** `count` takes one after the other, as letters are registered. */
  const takeMany = async (count: number, place: ChannelAddress, at: Date) => {
    const answers: boolean[] = [];
    for (let index = 0; index < count; index += 1) answers.push(await take(place, at));
    return answers;
  };
  return { take, takeMany };
}

const citizen = { channel: 'email', id: 'citizen@example.test' };
const start = new Date('2026-11-24T09:00:00Z');
const after = (minutes: number) => new Date(start.getTime() + minutes * 60_000);

describe('the per-sender receipt allowance', () => {
  it('lets ten receipts go in a row to one sender, then refuses the eleventh', async () => {
    const cap = allowance(10);
    const answers = await cap.takeMany(11, citizen, start);
    expect(answers.filter(Boolean)).toHaveLength(10);
    expect(answers[10]).toBe(false);
  });

  it('gives one receipt back for each tenth of an hour that passes, and never more than the cap', async () => {
    const cap = allowance(10);
    await cap.takeMany(10, citizen, start);
    expect(await cap.take(citizen, after(5))).toBe(false);
    expect(await cap.take(citizen, after(6))).toBe(true);
    expect(await cap.take(citizen, after(6))).toBe(false);
    const nextDay = await cap.takeMany(11, citizen, after(24 * 60));
    expect(nextDay.filter(Boolean)).toHaveLength(10);
  });

  it('counts each place on its own: another sender, or another thread of the same room', async () => {
    const cap = allowance(1);
    expect(await cap.take(citizen, start)).toBe(true);
    expect(await cap.take(citizen, start)).toBe(false);
    expect(await cap.take({ channel: 'email', id: 'company@example.test' }, start)).toBe(true);
    expect(await cap.take({ channel: 'matrix', id: '!room:example.test', thread: '$one' }, start)).toBe(true);
    expect(await cap.take({ channel: 'matrix', id: '!room:example.test', thread: '$two' }, start)).toBe(true);
    expect(await cap.take({ channel: 'matrix', id: '!room:example.test', thread: '$one' }, start)).toBe(false);
  });

  it('counts the subaddresses of one mailbox as one person, whatever their case', async () => {
    const cap = allowance(2);
    expect(await cap.take({ channel: 'email', id: 'victim+1@example.test' }, start)).toBe(true);
    expect(await cap.take({ channel: 'email', id: 'Victim+2@Example.TEST' }, start)).toBe(true);
    expect(await cap.take({ channel: 'email', id: 'VICTIM@example.test' }, start)).toBe(false);
    expect(await cap.take({ channel: 'email', id: 'victim-3@example.test' }, start)).toBe(true);
  });
});
