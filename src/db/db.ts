/**
 * Opens the register's SQLite file, sets the pragmas in this one place, and applies the committed
 * migrations. synchronous=FULL with WAL: a commit is on disk when it returns. The gateway's group
 * commit (group-commit.ts) flushes the WAL itself, off the event loop, before `accept()` resolves,
 * which is what lets the SMTP adapter answer 250.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { MIGRATIONS_DIR } from '../paths.js';
import { newestMigrationShipped, outdatedRegister } from './migration-journal.js';
import * as schema from './schema.js';

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database };

/** The gateway's register: made if missing, and brought to the code's schema. */
export function openDatabase({ file, busyTimeoutMs = 5000 }: { file: string; busyTimeoutMs?: number }): Db {
  mkdirSync(dirname(file), { recursive: true });
  const db = connect(new Database(file), busyTimeoutMs);
  migrate(db, { migrationsFolder: MIGRATIONS_DIR });
  return db;
}

/**
 * A register the gateway made, as the command line opens it: never made, never migrated (the
 * gateway owns the schema; a command beside it must not change it). One older than the code is
 * refused with what to do, rather than read with queries it cannot answer.
 */
export function openExistingDatabase({ file, busyTimeoutMs = 5000 }: { file: string; busyTimeoutMs?: number }): Db {
  const db = connect(new Database(file, { fileMustExist: true }), busyTimeoutMs);
  if (newestMigrationApplied(db.$client) < newestMigrationShipped(MIGRATIONS_DIR)) {
    db.$client.close();
    throw outdatedRegister(file);
  }
  return db;
}

/** When the newest migration applied to the register was written (0 if none): drizzle's own test of what is still to apply. */
function newestMigrationApplied(client: Database.Database): number {
  const table = client.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '__drizzle_migrations'").get();
  if (!table) return 0;
  const row = client.prepare('SELECT max(created_at) AS newest FROM __drizzle_migrations').get() as { newest: number | string | null };
  return Number(row.newest ?? 0);
}

function connect(client: Database.Database, busyTimeoutMs: number): Db {
  // exec, not pragma(): pragma() makes a statement and drops it, and Node 24.19-24.21 abort when the
  // garbage collector frees one (nodejs/node#65446). Every statement of the register lives as long as it.
  client.exec('PRAGMA journal_mode = WAL');
  client.exec('PRAGMA synchronous = FULL');
  client.exec('PRAGMA foreign_keys = ON');
  // Another process (the CLI beside a running gateway) may hold the write lock briefly.
  client.exec(`PRAGMA busy_timeout = ${Math.floor(busyTimeoutMs)}`);
  cacheStatements(client);
  return drizzle(client, { schema });
}

/**
 * Every statement of the connection is kept, by its SQL text, for as long as the connection:
 * - Node 24.19-24.21 abort the process when the garbage collector frees a better-sqlite3 statement
 *   (nodejs/node#65446, open), and drizzle prepares each query it runs and drops it.
 * - Preparing costs more than running (profiled: about half a millisecond per letter); a prepared
 *   statement is reusable, and better-sqlite3 runs one at a time.
 * The code has a few hundred SQL texts; the bound only guards against a runaway.
 */
function cacheStatements(client: Database.Database, limit = 1000): void {
  const prepare = client.prepare.bind(client);
  const cache = new Map<string, Database.Statement>();
  client.prepare = ((source: string) => {
    let statement = cache.get(source);
    if (!statement) {
      statement = prepare(source);
      if (cache.size >= limit) cache.delete(cache.keys().next().value!);
      cache.set(source, statement);
    }
    // drizzle turns raw mode on when it maps columns itself, and never off: each use starts from the default.
    if (statement.reader) statement.raw(false);
    return statement;
  }) as typeof client.prepare;
}
