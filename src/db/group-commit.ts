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
 * A write may say it need not reach the disk before it resolves (`synced: false`): the outbox's
 * marks of what was sent. Lost to a power cut, they only make a message go out again under its stable
 * Message-ID; the next flush carries them to disk anyway, and a process crash never loses them.
 */
import { closeSync, fdatasync, openSync } from 'node:fs';
import type { Db } from './db.js';
import { inTransaction } from './db.js';
import type { Tx } from '../letters/letters.repository.js';

export type GroupCommit = <T>(run: (tx: Tx) => T, options?: { synced?: boolean }) => Promise<T>;

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

export function createGroupCommit(db: Db, { flushToDisk = walFlusher(db) }: { flushToDisk?: FlushToDisk } = {}): GroupCommit {
  type Work = { run: (tx: Tx) => unknown; synced: boolean; resolve: (value: unknown) => void; reject: (error: unknown) => void };
  let queue: Work[] = [];
  let scheduled = false;
  const withoutSqliteSync = db.$client.prepare('PRAGMA synchronous = NORMAL');
  const withSqliteSync = db.$client.prepare('PRAGMA synchronous = FULL');

  /** Committed, waiting for the disk: resolved by the flush after the one running, if one is. */
  let awaitingFlush: { work: Work; value: unknown }[] = [];
  let flushing = false;

  function flushCommitted(): void {
    if (flushing || awaitingFlush.length === 0) return;
    const committed = awaitingFlush;
    awaitingFlush = [];
    flushing = true;
    flushToDisk().then(
      () => committed.forEach(({ work, value }) => work.resolve(value)),
      (error: unknown) => committed.forEach(({ work }) => work.reject(error)),
    ).finally(() => {
      flushing = false;
      flushCommitted();
    });
  }

  function commitBatch(): void {
    scheduled = false;
    const batch = queue;
    queue = [];
    const outcomes: ({ value: unknown } | { error: unknown })[] = [];
    // Connection-wide: writes made outside the group commit (rare ones) keep SQLite's own fsync.
    withoutSqliteSync.run();
    try {
      inTransaction(
        db,
        () => {
          for (const work of batch) {
            try {
              outcomes.push({ value: inTransaction(db, () => work.run(db)) });
            } catch (error) {
              outcomes.push({ error });
            }
          }
        },
        // IMMEDIATE takes the write lock up front: a read-then-write upgrade could fail at once in WAL mode.
        { behavior: 'immediate' },
      );
    } catch (error) {
      // The commit itself failed (disk full, lock): nothing of the batch is stored, everyone hears so.
      for (const work of batch) work.reject(error);
      return;
    } finally {
      withSqliteSync.run();
    }
    batch.forEach((work, index) => {
      const outcome = outcomes[index]!;
      if ('error' in outcome) work.reject(outcome.error);
      else if (!work.synced) work.resolve(outcome.value);
      else awaitingFlush.push({ work, value: outcome.value });
    });
    flushCommitted();
  }

  return function commit<T>(run: (tx: Tx) => T, { synced = true }: { synced?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      queue.push({ run, synced, resolve: resolve as (value: unknown) => void, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(commitBatch);
      }
    });
  };
}
