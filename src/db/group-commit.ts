/**
 * Group commit: writes that arrive while a commit is running are committed together, one
 * transaction and one fsync for all, each in its own savepoint so one failure cannot sink the
 * others. Nothing waits on a timer: a lone write is committed on the next turn of the event loop,
 * and batches form only from what arrived meanwhile. The intake and the outbox share one, so a
 * letter and the delivery marks of earlier letters ride the same fsync.
 *
 * The fsync is not SQLite's: the batch commits with synchronous=NORMAL (the WAL is written, not
 * flushed), then the WAL file is flushed with fdatasync in libuv's thread pool, and only then do
 * the writers hear that their write is stored. The event loop keeps taking letters in while the
 * disk works, and one flush covers every commit made before it started: while one runs, the
 * commits that follow wait for the next. better-sqlite3 would block the event loop in fsync.
 *
 * Not every write needs its own flush. How long a writer waits is its `wait`:
 * - 'disk' (the default): until it is on disk. A letter, before its 250.
 * - 'earlier': until everything committed before it is on disk. An outbox claim: what it claims
 *   can no longer be taken back by a power cut, and a lost claim is only made again.
 * - 'commit': until it is committed. The outbox's marks of what was sent: lost to a power cut, they
 *   only make a message go out again under its stable Message-ID; the next flush carries them.
 * Writes that wait only for their commit are not urgent either: they linger up to `lingerMs` for
 * another write and ride its commit, so the marks of a letter's sends do not each cost a commit.
 */
import { closeSync, fdatasync, openSync } from 'node:fs';
import type { Db } from './db.js';
import { inTransaction } from './db.js';
import type { Tx } from '../letters/letters.repository.js';

export type WriteWait = 'disk' | 'earlier' | 'commit';

export type GroupCommit = <T>(run: (tx: Tx) => T, options?: { wait?: WriteWait }) => Promise<T>;

/** Flushes the register's WAL to disk: what SQLite's synchronous=FULL would do at each commit. */
export type FlushToDisk = () => Promise<void>;

/**
 * fdatasync on the WAL file, through a descriptor of our own: fsync acts on the file's pages
 * whichever descriptor wrote them. SQLite keeps the same WAL file while the connection is open
 * (it removes it only when the last connection closes), so the descriptor is opened once.
 */
export function walFlusher(db: Db): FlushToDisk {
  if (db.$client.memory) return async () => {};
  let wal: number | undefined;
  return () =>
    new Promise<void>((resolve, reject) => {
      if (!db.$client.open) {
        if (wal !== undefined) closeSync(wal);
        wal = undefined;
        return reject(new Error('the register is closed'));
      }
      wal ??= openSync(`${db.$client.name}-wal`, 'r');
      fdatasync(wal, (error) => (error ? reject(error) : resolve()));
    });
}

export function createGroupCommit(
  db: Db,
  { flushToDisk = walFlusher(db), lingerMs = 5 }: { flushToDisk?: FlushToDisk; lingerMs?: number } = {},
): GroupCommit {
  type Work = { run: (tx: Tx) => unknown; wait: WriteWait; resolve: (value: unknown) => void; reject: (error: unknown) => void };
  let queue: Work[] = [];
  let immediate: NodeJS.Immediate | undefined;
  let lingering: NodeJS.Timeout | undefined;
  const withoutSqliteSync = db.$client.prepare('PRAGMA synchronous = NORMAL');
  const withSqliteSync = db.$client.prepare('PRAGMA synchronous = FULL');

  /** Committed, waiting for the disk: resolved by the flush after the one running, if one is. */
  let awaitingFlush: { work: Work; value: unknown }[] = [];
  let flushing: Promise<void> | undefined;

  function flushCommitted(): void {
    if (flushing || awaitingFlush.length === 0) return;
    const committed = awaitingFlush;
    awaitingFlush = [];
    flushing = flushToDisk();
    flushing
      .then(
        () => committed.forEach(({ work, value }) => work.resolve(value)),
        (error: unknown) => committed.forEach(({ work }) => work.reject(error)),
      )
      .finally(() => {
        flushing = undefined;
        flushCommitted();
      });
  }

  /** Hands a committed write its value once it has got as far as it waits for. */
  function answer(work: Work, value: unknown): void {
    if (work.wait === 'commit') return work.resolve(value);
    // Unflushed writes before this one are those awaiting a flush (earlier batches, and earlier in this one)...
    if (work.wait === 'disk' || awaitingFlush.length > 0) return void awaitingFlush.push({ work, value });
    // ...or those of the flush under way; with neither, all before it is on disk already.
    if (!flushing) return work.resolve(value);
    flushing.then(() => work.resolve(value), work.reject);
  }

  function commitBatch(): void {
    clearImmediate(immediate);
    clearTimeout(lingering);
    immediate = lingering = undefined;
    const batch = queue;
    queue = [];
    const outcomes: ({ value: unknown } | { error: unknown })[] = [];
    // A lone write needs no savepoint: if it fails, the transaction around it holds nothing else.
    const isolate = batch.length > 1 ? (run: () => unknown) => inTransaction(db, run) : (run: () => unknown) => run();
    // Connection-wide: writes made outside the group commit (rare ones) keep SQLite's own fsync.
    withoutSqliteSync.run();
    try {
      inTransaction(
        db,
        () => {
          for (const work of batch) {
            try {
              outcomes.push({ value: isolate(() => work.run(db)) });
            } catch (error) {
              if (batch.length === 1) throw error;
              outcomes.push({ error });
            }
          }
        },
        // IMMEDIATE takes the write lock up front: a read-then-write upgrade could fail at once in WAL mode.
        { behavior: 'immediate' },
      );
    } catch (error) {
      // The commit itself failed (disk full, lock), or the lone write did: nothing of the batch is stored.
      for (const work of batch) work.reject(error);
      return;
    } finally {
      withSqliteSync.run();
    }
    batch.forEach((work, index) => {
      const outcome = outcomes[index]!;
      if ('error' in outcome) work.reject(outcome.error);
      else answer(work, outcome.value);
    });
    flushCommitted();
  }

  return function commit<T>(run: (tx: Tx) => T, { wait = 'disk' }: { wait?: WriteWait } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      queue.push({ run, wait, resolve: resolve as (value: unknown) => void, reject });
      if (immediate) return;
      if (wait !== 'commit') immediate = setImmediate(commitBatch);
      else lingering ??= setTimeout(commitBatch, lingerMs);
    });
  };
}
