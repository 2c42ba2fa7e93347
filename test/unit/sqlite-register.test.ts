import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { RegisterTx } from '../../src/db/register-tx.js';
import type { FlushToDisk } from '../../src/db/group-commit.js';
import type { SqliteRegister } from '../../src/db/sqlite-register.js';
import { heldDisk } from '../helpers/held-disk.js';
import { temporarySqliteRegister } from '../helpers/register-file.js';

async function register(flushToDisk?: FlushToDisk): Promise<SqliteRegister> {
  const database = temporarySqliteRegister(flushToDisk);
  // Committed, not flushed: a disk the test holds counts only the flushes of the writes under test.
  await database.write((tx) => tx.db.run(sql`CREATE TABLE notes (text TEXT NOT NULL)`), { wait: 'commit' });
  return database;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
/** A write that awaits between its statements, as a repository on a networked engine would. */
const notes = (...texts: string[]) => async (tx: RegisterTx) => {
  for (const text of texts) {
    await tick();
    tx.db.run(sql`INSERT INTO notes (text) VALUES (${text})`);
  }
  return texts.length;
};
const stored = (database: SqliteRegister) => database.read((tx) => tx.db.all<{ text: string }>(sql`SELECT text FROM notes ORDER BY rowid`).map((row) => row.text));

describe('the SQLite register as a unit of work', () => {
  it('commits asynchronous writes that arrive together in one transaction and one flush, and answers each once the disk has it', async () => {
    const disk = heldDisk();
    const database = await register(disk.flushToDisk);
    const writes = [database.write(notes('a', 'b')), database.write(notes('c')), database.write(notes('d'))];
    while (disk.flushes.length === 0) await tick();
    expect(await stored(database)).toEqual(['a', 'b', 'c', 'd']);
    expect(disk.flushes).toHaveLength(1);
    disk.flushes[0]!.finish();
    expect(await Promise.all(writes)).toEqual([2, 1, 1]);
  });

  it('keeps the writes of a batch when one of them throws after an await, and stores nothing of the one that threw', async () => {
    const database = await register(async () => {});
    const failing = database.write(async (tx) => {
      await notes('half')(tx);
      throw new Error('refused');
    });
    const kept = database.write(notes('kept'));
    await expect(failing).rejects.toThrow('refused');
    await expect(kept).resolves.toBe(1);
    expect(await stored(database)).toEqual(['kept']);
  });

  it('lets a read wait while a batch is open, so it never sees a write that is then rolled back', async () => {
    const database = await register(async () => {});
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const rolledBack = database.write(async (tx) => {
      tx.db.run(sql`INSERT INTO notes (text) VALUES ('never')`);
      await held;
      throw new Error('refused');
    });
    await tick();
    const read = stored(database);
    release();
    await expect(rolledBack).rejects.toThrow('refused');
    expect(await read).toEqual([]);
  });

  it('answers a ping while open', async () => {
    await expect((await register()).ping()).resolves.toBeUndefined();
  });
});
