/**
 * A transaction of the register as the repositories see it, whatever engine keeps it. Drizzle has
 * no dialect-neutral query builder, but the calls the repositories make (select, insert with
 * onConflict and returning, update, delete, awaited) read and build alike on SQLite and
 * PostgreSQL. So the builder is typed once, as SQLite's, and each engine hands in its own
 * connection and its own tables (the PostgreSQL twins have the same row types: schema.same-rows.ts).
 * The repository contract suite runs every query on both engines; it is what keeps this honest.
 *
 * Rules for a repository: await queries (never better-sqlite3's synchronous .get/.all/.run, which
 * PostgreSQL lacks); take tables from `tx.tables`; count changed rows with `.returning()`.
 */
import { sql, type Column, type SQL } from 'drizzle-orm';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import type * as sqliteTables from './schema.js';

export type Engine = 'sqlite' | 'postgres';

export type RegisterTables = typeof sqliteTables;

/** drizzle's query builder over the register's tables, as the repositories may use it. */
export type QueryBuilder = BetterSQLite3Database<RegisterTables>;

export interface RegisterTx {
  readonly engine: Engine;
  readonly db: QueryBuilder;
  /** The engine's own tables: SQLite's, or their PostgreSQL twins typed as them. */
  readonly tables: RegisterTables;
}

/**
 * Queries built and prepared once per connection, for the paths every letter takes: drizzle would
 * otherwise rebuild each query's SQL on every call (profiled on SQLite: about 1.5 ms a letter).
 * Run them with `.execute(values)` and await the result.
 */
export function preparedQueries<T>(build: (db: QueryBuilder, tables: RegisterTables, engine: Engine) => T): (tx: RegisterTx) => T {
  const byConnection = new WeakMap<QueryBuilder, T>();
  return (tx) => {
    let queries = byConnection.get(tx.db);
    if (!queries) {
      queries = build(tx.db, tx.tables, tx.engine);
      byConnection.set(tx.db, queries);
    }
    return queries;
  };
}

/**
 * A placeholder whose value the column encodes, as drizzle does for insert values: in a condition
 * or an update's `set` it leaves a bare placeholder's value unencoded, and a Date there would reach
 * each engine as it is (SQLite stores instants as numbers, PostgreSQL as timestamps).
 */
export function encoded(column: Column, name: string): SQL {
  return sql`${sql.param(sql.placeholder(name), column)}`;
}

/**
 * A select of rows to claim that passes over rows other transactions hold locked, and locks the
 * rows it finds until the commit (FOR UPDATE SKIP LOCKED): on PostgreSQL, gateways claiming at
 * once then take different rows without waiting for each other. SQLite has one writer at a time
 * and no row locks: the select is left as it is. The one query that differs by engine, and why
 * the cast: the builder is typed as SQLite's, which has no `.for`.
 */
export function skippingLockedRows<Select extends object>(engine: Engine, select: Select): Select {
  if (engine === 'sqlite') return select;
  return (select as unknown as { for(strength: 'update', config: { skipLocked: true }): Select }).for('update', { skipLocked: true });
}

/**
 * How many rows one multi-row statement carries at most: with the widest table (letters, about
 * thirty columns) it stays far under SQLite's 32,766 and PostgreSQL's 65,535 parameters.
 */
const ROWS_PER_STATEMENT = 100;

/**
 * Runs a write or a lookup for many rows (or keys) in as few statements as the engine rewards.
 * On PostgreSQL each statement is a round trip made while this gateway holds the register: rows
 * go `many` at a time, in statements of at most ROWS_PER_STATEMENT rows and about `maxBytes` of
 * content. On SQLite a statement costs no round trip, and a prepared one (`one`) is what is
 * cheapest, built once per connection where drizzle would build a multi-row statement anew each time.
 * Results come back in the order of `rows` when `one` and `many` keep it.
 */
export async function inFewStatements<Row, Out>(
  tx: RegisterTx,
  rows: readonly Row[],
  { one, many, bytesOf }: { one: (row: Row) => Promise<Out[]>; many: (rows: Row[]) => Promise<Out[]>; bytesOf?: (row: Row) => number },
): Promise<Out[]> {
  const results: Out[] = [];
  if (tx.engine === 'sqlite' || rows.length === 1) {
    for (const row of rows) results.push(...(await one(row)));
    return results;
  }
  const maxBytes = 16 * 1024 * 1024;
  let chunk: Row[] = [];
  let bytes = 0;
  for (const row of rows) {
    const size = bytesOf?.(row) ?? 0;
    if (chunk.length > 0 && (chunk.length === ROWS_PER_STATEMENT || bytes + size > maxBytes)) {
      results.push(...(await many(chunk)));
      chunk = [];
      bytes = 0;
    }
    chunk.push(row);
    bytes += size;
  }
  if (chunk.length > 0) results.push(...(await many(chunk)));
  return results;
}

/** `inFewStatements` for writes that return nothing. */
export async function writeInFewStatements<Row>(
  tx: RegisterTx,
  rows: readonly Row[],
  { one, many, bytesOf }: { one: (row: Row) => PromiseLike<unknown>; many: (rows: Row[]) => PromiseLike<unknown>; bytesOf?: (row: Row) => number },
): Promise<void> {
  const nothing: never[] = [];
  await inFewStatements(tx, rows, { one: async (row) => (await one(row), nothing), many: async (chunk) => (await many(chunk), nothing), ...(bytesOf ? { bytesOf } : {}) });
}
