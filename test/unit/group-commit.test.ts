import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/db.js';
import { createGroupCommit, walFlusher } from '../../src/db/group-commit.js';
import { temporaryRegister } from '../helpers/register-file.js';

function register(): Db {
  const db = temporaryRegister();
  db.run(sql`CREATE TABLE notes (text TEXT NOT NULL)`);
  return db;
}

/** A disk the test controls: each flush waits until the test lets it finish. */
function controlledDisk() {
  const flushes: { finish: () => void; fail: (error: Error) => void }[] = [];
  return {
    flushes,
    flushToDisk: () => new Promise<void>((resolve, reject) => flushes.push({ finish: resolve, fail: reject })),
  };
}

const note = (text: string) => (db: Db) => db.run(sql`INSERT INTO notes (text) VALUES (${text})`);
const settled = async (promise: Promise<unknown>) => {
  let done = false;
  void promise.then(() => (done = true), () => (done = true));
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  return done;
};

describe('the group commit', () => {
  it('tells a writer its letter is stored only once the disk has it, and commits what came meanwhile together', async () => {
    const db = register();
    const disk = controlledDisk();
    const commit = createGroupCommit(db, { flushToDisk: disk.flushToDisk });

    const first = commit(note('first'));
    expect(await settled(first)).toBe(false);
    expect(disk.flushes).toHaveLength(1);
    // Committed (another reader sees it) but not yet acknowledged: the disk has not said so.
    expect(db.all(sql`SELECT text FROM notes`)).toEqual([{ text: 'first' }]);

    const second = commit(note('second'));
    const third = commit(note('third'));
    expect(await settled(second)).toBe(false);
    // Only one flush at a time: the later commits wait for the next one.
    expect(disk.flushes).toHaveLength(1);
    disk.flushes[0]!.finish();
    await first;
    expect(await settled(second)).toBe(false);
    expect(disk.flushes).toHaveLength(2);
    disk.flushes[1]!.finish();
    await Promise.all([second, third]);
    expect(db.all(sql`SELECT text FROM notes ORDER BY rowid`)).toEqual([{ text: 'first' }, { text: 'second' }, { text: 'third' }]);
  });

  it('answers a write that need not be synced as soon as it is committed', async () => {
    const db = register();
    const disk = controlledDisk();
    const commit = createGroupCommit(db, { flushToDisk: disk.flushToDisk });
    await commit(note('a delivery mark'), { synced: false });
    expect(disk.flushes).toHaveLength(0);
  });

  it('reports a failed flush to every writer waiting on it, and one failed write does not sink the others', async () => {
    const db = register();
    const disk = controlledDisk();
    const commit = createGroupCommit(db, { flushToDisk: disk.flushToDisk });
    const good = commit(note('good'));
    const bad = commit(() => {
      throw new Error('this letter is refused');
    });
    await expect(bad).rejects.toThrow('this letter is refused');
    await settled(good);
    disk.flushes[0]!.fail(new Error('EIO'));
    await expect(good).rejects.toThrow('EIO');
  });

  it('flushes a real register file', async () => {
    const db = register();
    const commit = createGroupCommit(db, { flushToDisk: walFlusher(db) });
    await commit(note('kept'));
    expect(db.all(sql`SELECT text FROM notes`)).toEqual([{ text: 'kept' }]);
  });
});
