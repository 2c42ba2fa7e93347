import type { Engine } from './register-tx.js';

/**
 * The register as the core sees it, whatever engine keeps it: work is handed over as a function
 * of a transaction handle, and the engine decides how it is run (SQLite: the group commit, one
 * transaction and one flush for what arrives together). A use case that must store several things
 * at once (a letter and its events) makes several repository calls inside one `write`.
 */

/** How long a writer waits; see group-commit.ts for what each costs and who uses which. */
export type WriteWait = 'disk' | 'earlier' | 'commit';

export interface WriteOptions<T> {
  wait?: WriteWait;
  /** Called with the write's value once it is committed, before it is on disk. Must not throw. */
  committed?: (value: T) => void;
}

/**
 * `Tx` is the engine's transaction handle (a drizzle database). A write may run twice (after
 * another write of its batch failed), so it must do nothing but database work.
 */
export interface UnitOfWork<Tx> {
  readonly engine: Engine;
  write<T>(run: (tx: Tx) => T | Promise<T>, options?: WriteOptions<T>): Promise<T>;
  /**
   * A short write of one row that every intake path takes (a rate bucket, at each SMTP connection),
   * which needs neither the register's order nor the disk. Where gateways share the register
   * (PostgreSQL) it runs in a transaction of its own, committed at once, never in a batch: a batch
   * waits for the lock every gateway's writes take in turn and holds its rows until it commits, so
   * each connection would wait for the gateways' commits. Where one writer holds the register
   * (SQLite) it may ride a batch. Waits for the commit, not the disk; its row is the one lock it holds.
   */
  writeAlone<T>(run: (tx: Tx) => Promise<T>): Promise<T>;
  /** Reads committed state only: never the writes of a batch still open. */
  read<T>(run: (tx: Tx) => T | Promise<T>): Promise<T>;
  /** Resolves when the register answers a query; rejects when it does not. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
