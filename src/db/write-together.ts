/**
 * Writes of one kind that arrive while the first of them waits for its turn become one write:
 * `runAll` gets them all at once, so it can read what they need in one query and insert their rows
 * in one statement per table. On PostgreSQL every statement is a round trip made while the
 * register lock is held by this gateway, so that is what lets several gateways share the register:
 * a batch of twenty letters costs a dozen statements, not two hundred. On SQLite it costs nothing
 * and keeps one code path for both engines.
 *
 * A write that throws must not sink the others it was joined with: when `runAll` throws for a
 * group, each item is written again alone, and only the one at fault fails. When the commit itself
 * fails, every item hears that failure (nothing of the group is stored).
 */
import type { UnitOfWork, WriteWait } from './unit-of-work.js';

export interface JoinedWrite<Item, Result> {
  (item: Item, committed?: (result: Result) => void): Promise<Result>;
}

export function writeTogether<Tx, Item, Result>(
  database: UnitOfWork<Tx>,
  runAll: (tx: Tx, items: readonly Item[]) => Promise<Result[]>,
  { wait = 'disk' }: { wait?: WriteWait } = {},
): JoinedWrite<Item, Result> {
  type Pending = { item: Item; committed: ((result: Result) => void) | undefined; resolve: (result: Result) => void; reject: (error: unknown) => void };
  /** Items waiting for the write that will take them; the write takes them when it starts to run. */
  let waiting: Pending[] = [];

  function writeGroup(take: () => Pending[]): void {
    let group: Pending[] | undefined;
    /** Set when `runAll` threw (as opposed to the commit failing). */
    let threw = false;
    database
      .write(
        // A write may run twice (the batch commit runs a batch again when another write in it failed): it keeps the group it took.
        async (tx) => {
          group ??= take();
          try {
            return await runAll(tx, group.map((pending) => pending.item));
          } catch (error) {
            threw = true;
            throw error;
          }
        },
        { wait, committed: (results) => group!.forEach((pending, index) => pending.committed?.(results[index]!)) },
      )
      .then(
        (results) => group!.forEach((pending, index) => pending.resolve(results[index]!)),
        (error: unknown) => {
          // A group that never ran (the register closed before its turn) fails as a whole.
          if (!group) group = take();
          if (threw && group.length > 1) for (const pending of group) writeGroup(() => [pending]);
          else for (const pending of group) pending.reject(error);
        },
      );
  }

  return (item, committed) =>
    new Promise<Result>((resolve, reject) => {
      waiting.push({ item, committed, resolve, reject });
      if (waiting.length > 1) return;
      writeGroup(() => {
        const taken = waiting;
        waiting = [];
        return taken;
      });
    });
}
