/**
 * The SQLite strategy of the unit of work: one file, one connection, and the group commit
 * (group-commit.ts) running every write, so a batch of letters costs one transaction and one flush.
 * Reads run on the same connection; one that comes while a batch's transaction is open across an
 * await waits for it to end, so it never sees writes that may yet be rolled back.
 */
import { openDatabase, type Db } from './db.js';
import { createGroupCommit, walFlusher, type FlushToDisk, type GroupCommit } from './group-commit.js';
import type { UnitOfWork } from './unit-of-work.js';

export interface SqliteRegister extends UnitOfWork<Db> {
  /** The connection, for the repositories not yet handed a transaction by the unit of work. */
  readonly db: Db;
  /** `write`, typed as the callers of the group commit know it. */
  readonly commit: GroupCommit;
}

export function openSqliteRegister({
  file,
  busyTimeoutMs,
  flushToDisk,
  onBatch,
}: {
  file: string;
  busyTimeoutMs?: number;
  /** How commits reach the disk; fdatasync on the WAL by default (tests hold or fail it). */
  flushToDisk?: FlushToDisk | undefined;
  /** Told how many writes each committed transaction held (/metrics). */
  onBatch?: (size: number) => void;
}): SqliteRegister {
  const db = openDatabase({ file, ...(busyTimeoutMs === undefined ? {} : { busyTimeoutMs }) });
  const disk: FlushToDisk & { close?(): void } = flushToDisk ?? walFlusher(db);
  const commit = createGroupCommit(db, { flushToDisk: disk, ...(onBatch ? { onBatch } : {}) });
  const ping = db.$client.prepare('SELECT 1');

  async function noBatchOpen(): Promise<void> {
    for (let open = commit.whenNoBatchOpen(); open; open = commit.whenNoBatchOpen()) await open;
  }

  return {
    db,
    commit,
    write: commit,
    async read(run) {
      await noBatchOpen();
      return run(db);
    },
    async ping() {
      ping.get();
    },
    async close() {
      await noBatchOpen();
      db.$client.close();
      disk.close?.();
    },
  };
}
