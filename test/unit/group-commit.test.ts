import Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/db/db.js';
import { createGroupCommit, walFlusher } from '../../src/db/group-commit.js';
import { counters } from '../../src/db/schema.js';
import { heldDisk } from '../helpers/held-disk.js';
import { keepUntilExit } from '../helpers/keep-alive.js';
import { temporaryRegister } from '../helpers/register-file.js';

function register(): Db {
  const db = temporaryRegister();
  db.run(sql`CREATE TABLE notes (text TEXT NOT NULL)`);
  return db;
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
  it('tells a writer its letter is stored only once the disk has it, and commits what came during the flush together after it', async () => {
    const db = register();
    const disk = heldDisk();
    const commit = createGroupCommit(db, { flushToDisk: disk.flushToDisk });

    const first = commit(note('first'));
    expect(await settled(first)).toBe(false);
    expect(disk.flushes).toHaveLength(1);
    // Committed (another reader sees it) but not yet acknowledged: the disk has not said so.
    expect(db.all(sql`SELECT text FROM notes`)).toEqual([{ text: 'first' }]);

    // Letters that come while the disk flushes wait for the next flush: they are committed when
    // this one ends, in one transaction (another connection sees the register change once).
    const reader = new Database(db.$client.name, { readonly: true });
    const dataVersionQuery = reader.prepare('PRAGMA data_version').pluck();
    keepUntilExit(reader, dataVersionQuery);
    const dataVersion = () => dataVersionQuery.get() as number;
    const versionBefore = dataVersion();
    const second = commit(note('second'));
    expect(await settled(second)).toBe(false);
    const third = commit(note('third'));
    expect(await settled(third)).toBe(false);
    expect(disk.flushes).toHaveLength(1);
    expect(db.all(sql`SELECT text FROM notes`)).toEqual([{ text: 'first' }]);
    disk.flushes[0]!.finish();
    await first;
    expect(await settled(second)).toBe(false);
    expect(db.all(sql`SELECT text FROM notes ORDER BY rowid`)).toEqual([{ text: 'first' }, { text: 'second' }, { text: 'third' }]);
    expect(dataVersion()).toBe(versionBefore + 1);
    reader.close();
    expect(disk.flushes).toHaveLength(2);
    disk.flushes[1]!.finish();
    await Promise.all([second, third]);
    expect(db.all(sql`SELECT text FROM notes ORDER BY rowid`)).toEqual([{ text: 'first' }, { text: 'second' }, { text: 'third' }]);
  });

  it('answers a delivery mark once committed, and lets it ride the next letter\'s commit rather than cost one of its own', async () => {
    const db = register();
    const disk = heldDisk();
    const commit = createGroupCommit(db, { flushToDisk: disk.flushToDisk, lingerMs: 60_000 });
    const mark = commit(note('a delivery mark'), { wait: 'commit' });
    expect(await settled(mark)).toBe(false);
    // Lingering: not committed yet, waiting for company.
    expect(db.all(sql`SELECT text FROM notes`)).toEqual([]);
    const letter = commit(note('a letter'));
    await mark;
    expect(db.all(sql`SELECT text FROM notes ORDER BY rowid`)).toEqual([{ text: 'a delivery mark' }, { text: 'a letter' }]);
    expect(await settled(letter)).toBe(false);
    expect(disk.flushes).toHaveLength(1);
  });

  it('commits a lone delivery mark after a short wait, without a flush', async () => {
    const db = register();
    const disk = heldDisk();
    const commit = createGroupCommit(db, { flushToDisk: disk.flushToDisk, lingerMs: 1 });
    await commit(note('a delivery mark'), { wait: 'commit' });
    expect(db.all(sql`SELECT text FROM notes`)).toEqual([{ text: 'a delivery mark' }]);
    expect(disk.flushes).toHaveLength(0);
  });

  it('answers a claim once every earlier write is on disk, without a flush of its own when they already are', async () => {
    const db = register();
    const disk = heldDisk();
    const commit = createGroupCommit(db, { flushToDisk: disk.flushToDisk, lingerMs: 1 });

    // Nothing unflushed before it: answered on commit.
    await commit(note('claim on a quiet register'), { wait: 'earlier' });
    expect(disk.flushes).toHaveLength(0);

    // A letter whose flush is under way: the claim waits for that flush, not for one of its own.
    const letter = commit(note('letter'));
    expect(await settled(letter)).toBe(false);
    const claim = commit(note('claim after the letter'), { wait: 'earlier' });
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(await settled(claim)).toBe(false);
    disk.flushes[0]!.finish();
    await Promise.all([letter, claim]);
    expect(disk.flushes).toHaveLength(1);

    // A letter committed in the same batch just before it: the claim waits for the flush that carries the letter.
    const sameBatchLetter = commit(note('letter in the batch'));
    const sameBatchClaim = commit(note('claim in the batch'), { wait: 'earlier' });
    expect(await settled(sameBatchClaim)).toBe(false);
    expect(disk.flushes).toHaveLength(2);
    disk.flushes[1]!.finish();
    await Promise.all([sameBatchLetter, sameBatchClaim]);
  });

  it('refuses a lone failing write and stores the next one', async () => {
    const db = register();
    const commit = createGroupCommit(db, { flushToDisk: async () => {} });
    await expect(
      commit((tx) => {
        note('half done')(tx);
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    await commit(note('next'));
    expect(db.all(sql`SELECT text FROM notes`)).toEqual([{ text: 'next' }]);
  });

  it('reports a failed flush to every writer waiting on it, and one failed write does not sink the others', async () => {
    const db = register();
    const disk = heldDisk();
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

  it('after a failed flush, answers a claim only once a later flush succeeds', async () => {
    const db = register();
    const disk = heldDisk();
    const commit = createGroupCommit(db, { flushToDisk: disk.flushToDisk, lingerMs: 1 });
    const letter = commit(note('letter'));
    await settled(letter);
    disk.flushes[0]!.fail(new Error('EIO'));
    await expect(letter).rejects.toThrow('EIO');

    // The letter is committed but not known to be on disk: a claim must not take it as stored.
    const claim = commit(note('claim'), { wait: 'earlier' });
    expect(await settled(claim)).toBe(false);
    expect(disk.flushes).toHaveLength(2);
    disk.flushes[1]!.finish();
    await claim;
    // Once one has, claims need no flush of their own again.
    await commit(note('next claim'), { wait: 'earlier' });
    expect(disk.flushes).toHaveLength(2);
  });

  it('stores the other writes of a batch exactly once when one of them fails half done', async () => {
    const db = register();
    const commit = createGroupCommit(db, { flushToDisk: async () => {} });
    const before = commit(note('before'));
    const failing = commit((tx) => {
      note('half done')(tx);
      throw new Error('refused half way');
    });
    const after = commit(note('after'));
    await expect(failing).rejects.toThrow('refused half way');
    await Promise.all([before, after]);
    expect(db.all(sql`SELECT text FROM notes ORDER BY rowid`)).toEqual([{ text: 'before' }, { text: 'after' }]);
  });

  it('tells a writer that asks of its commit while the disk still flushes it, and a refused write never', async () => {
    const db = register();
    const disk = heldDisk();
    const commit = createGroupCommit(db, { flushToDisk: disk.flushToDisk });
    const heard: string[] = [];
    const kept = commit((tx) => (note('kept')(tx), 'kept'), { committed: (value) => heard.push(`${value}, with ${disk.flushes.length} flush under way`) });
    const refused = commit(
      () => {
        throw new Error('refused');
      },
      { committed: () => heard.push('refused') },
    );
    await expect(refused).rejects.toThrow('refused');
    expect(heard).toEqual(['kept, with 1 flush under way']);
    expect(await settled(kept)).toBe(false);
    disk.flushes[0]!.finish();
    expect(await kept).toBe('kept');
  });

  it('runs a write that hands back a drizzle query (a thenable, run only once awaited) inside its transaction', async () => {
    const db = register();
    const disk = heldDisk();
    const commit = createGroupCommit(db, { flushToDisk: disk.flushToDisk });
    const row = { year: 2026, direction: 'A', lastSequence: 1 } as const;
    const write = commit((tx) => tx.insert(counters).values(row).returning());
    expect(await settled(write)).toBe(false);
    // Committed while the disk flushes: the insert ran in the batch, not once the writer was answered.
    expect(db.select().from(counters).all()).toEqual([row]);
    disk.flushes[0]!.finish();
    expect(await write).toEqual([row]);
  });

  it('flushes a real register file', async () => {
    const db = register();
    const commit = createGroupCommit(db, { flushToDisk: walFlusher(db) });
    await commit(note('kept'));
    expect(db.all(sql`SELECT text FROM notes`)).toEqual([{ text: 'kept' }]);
  });
});
