/**
 * The SQLite strategy of the unit of work: one file, one connection, and the group commit
 * (group-commit.ts) running every write, so a batch of letters costs one transaction and one flush.
 * Reads run on the same connection; one that comes while a batch's transaction is open across an
 * await waits for it to end, so it never sees writes that may yet be rolled back.
 */
import { openDatabase, openExistingDatabase, type Db } from './db.js';
import { createBatchCommit, sqliteTransactions, walFlusher, type FlushToDisk } from './group-commit.js';
import type { RegisterTx } from './register-tx.js';
import * as tables from './schema.js';
import type { UnitOfWork } from './unit-of-work.js';

export interface SqliteRegister extends UnitOfWork<RegisterTx> {
  readonly engine: 'sqlite';
}

interface Options {
  file: string;
  busyTimeoutMs?: number | undefined;
  /** How commits reach the disk; fdatasync on the WAL by default (tests hold or fail it). */
  flushToDisk?: FlushToDisk | undefined;
  /** Told how many writes each committed transaction held (/metrics). */
  onBatch?: (size: number, heldSeconds: number) => void;
}

/** The gateway's register: made if missing, and brought to the code's schema. */
export function openSqliteRegister({ file, busyTimeoutMs, ...options }: Options): SqliteRegister {
  return sqliteRegister(openDatabase({ file, ...(busyTimeoutMs === undefined ? {} : { busyTimeoutMs }) }), options);
}

/** A register the gateway made, as the command line opens it: never made, never migrated (db.ts, openExistingDatabase). */
export function openExistingSqliteRegister({ file, busyTimeoutMs }: Pick<Options, 'file' | 'busyTimeoutMs'>): SqliteRegister {
  return sqliteRegister(openExistingDatabase({ file, ...(busyTimeoutMs === undefined ? {} : { busyTimeoutMs }) }), {});
}

function sqliteRegister(db: Db, { flushToDisk, onBatch }: Pick<Options, 'flushToDisk' | 'onBatch'>): SqliteRegister {
  const disk: FlushToDisk & { close?(): void } = flushToDisk ?? walFlusher(db);
  // One connection, always in the group commit's transaction when a write runs: one handle serves every write and read.
  const tx: RegisterTx = { engine: 'sqlite', db, tables };
  const commit = createBatchCommit(sqliteTransactions(db, tx), { flushToDisk: disk, ...(onBatch ? { onBatch } : {}) });
  const ping = db.$client.prepare('SELECT 1');

  return {
    engine: 'sqlite',
    write: commit,
    // One connection and one writer: no other transaction can wait on a lock a batch holds.
    writeAlone: (run) => commit(run, { wait: 'commit' }),
    read: (run) => commit.whenNoBatchOpen(() => run(tx)),
    async ping() {
      ping.get();
    },
    close: () =>
      commit.whenNoBatchOpen(() => {
        db.$client.close();
        disk.close?.();
      }),
  };
}
