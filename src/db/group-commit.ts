/**
 * Group commit: writes that arrive while a commit is running are committed together, one
 * transaction and one fsync for all, each in its own savepoint so one failure cannot sink the
 * others. Nothing waits on a timer: a lone write is committed on the next turn of the event loop,
 * and batches form only from what arrived meanwhile (better-sqlite3 commits synchronously).
 * The intake and the outbox share one, so a letter and the delivery marks of earlier letters ride
 * the same fsync.
 *
 * A write may say it need not reach the disk before it resolves (`synced: false`): the outbox's
 * claims and marks. Lost to a power cut, they only make a message go out again under its stable
 * Message-ID; a batch of nothing else commits without an fsync (WAL with synchronous=NORMAL; the
 * next synced commit carries it to disk, and a process crash never loses it).
 */
import { inTransaction, type Db } from './db.js';
import type { Tx } from '../letters/letters.repository.js';

export type GroupCommit = <T>(run: (tx: Tx) => T, options?: { synced?: boolean }) => Promise<T>;

export function createGroupCommit(db: Db): GroupCommit {
  type Work = { run: (tx: Tx) => unknown; synced: boolean; resolve: (value: unknown) => void; reject: (error: unknown) => void };
  let queue: Work[] = [];
  let scheduled = false;

  function flush(): void {
    scheduled = false;
    const batch = queue;
    queue = [];
    const outcomes: ({ value: unknown } | { error: unknown })[] = [];
    const synced = batch.some((work) => work.synced);
    if (!synced) db.$client.pragma('synchronous = NORMAL');
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
      if (!synced) db.$client.pragma('synchronous = FULL');
    }
    batch.forEach((work, index) => {
      const outcome = outcomes[index]!;
      if ('error' in outcome) work.reject(outcome.error);
      else work.resolve(outcome.value);
    });
  }

  return function commit<T>(run: (tx: Tx) => T, { synced = true }: { synced?: boolean } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      queue.push({ run, synced, resolve: resolve as (value: unknown) => void, reject });
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
  };
}
