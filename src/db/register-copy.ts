/**
 * Copies a whole register into an empty one, on either engine: an office that outgrows one machine
 * moves its SQLite register to PostgreSQL (and back, if it must). Rows keep their ids and every
 * column as stored, so numbers, the hash chain, receipt links and answer tokens stay valid: the
 * copy verifies with the same chain. The target is written in one transaction, so a copy that fails
 * leaves it as empty as it found it.
 *
 * The source is read page by page, in key order, inside one of its own write transactions that
 * writes nothing: on either engine that holds the register's one writer lock (SQLite's write lock,
 * PostgreSQL's register lock that every gateway's write takes first), so nothing is written to it
 * meanwhile and the copy is the register at one moment: never a counter copied before a letter
 * that took the next number. A gateway that writes during the copy waits for it (and answers "try
 * again later" if the copy outlasts its timeouts).
 */
import { asc, count, getTableColumns, getTableName, gt, sql, type SQL } from 'drizzle-orm';
import type { SQLiteColumn, SQLiteTable } from 'drizzle-orm/sqlite-core';
import { WaslError } from '../errors.js';
import type { RegisterTables, RegisterTx } from './register-tx.js';
import type { UnitOfWork } from './unit-of-work.js';

type TableName = keyof RegisterTables;
type Row<Name extends TableName> = RegisterTables[Name]['$inferSelect'];

interface TableCopy<Name extends TableName> {
  /** The row's fields that order and page the table: its primary key. */
  key: (keyof Row<Name> & string)[];
  /** Rows per page: content tables hold up to a whole message a row, so their pages are short. */
  pageRows: number;
  /** Numbered by the database: PostgreSQL's identity must go on from the highest id copied. */
  identity?: true;
}

/**
 * Every table, parents before children (foreign keys hold at each insert). The mapped type makes a
 * table added to the schema and forgotten here a compile error, not a silent loss.
 */
const COPY_PLAN: { [Name in TableName]: TableCopy<Name> } = {
  blobs: { key: ['sha256'], pageRows: 16 },
  counters: { key: ['year', 'direction'], pageRows: 500 },
  letters: { key: ['id'], pageRows: 200, identity: true },
  letterDepartments: { key: ['letterId', 'departmentCode'], pageRows: 500 },
  attachments: { key: ['id'], pageRows: 500, identity: true },
  letterEvents: { key: ['id'], pageRows: 500, identity: true },
  processedEvents: { key: ['channel', 'eventId'], pageRows: 500 },
  deliveries: { key: ['id'], pageRows: 500, identity: true },
  mailboxMessages: { key: ['id'], pageRows: 16, identity: true },
  receiptAllowances: { key: ['channel', 'targetId', 'targetThread'], pageRows: 500 },
  leases: { key: ['name'], pageRows: 500 },
  rateBuckets: { key: ['kind', 'key'], pageRows: 500 },
  people: { key: ['id'], pageRows: 500, identity: true },
  personIdentities: { key: ['personId', 'channel', 'address'], pageRows: 500 },
  personRoles: { key: ['id'], pageRows: 500, identity: true },
};

export type CopyReport = Record<TableName, number>;

const TABLE_NAMES = Object.keys(COPY_PLAN) as TableName[];

/** The key's columns of a table, by field name. */
function keyColumns(table: SQLiteTable, key: readonly string[]): SQLiteColumn[] {
  const columns = getTableColumns(table);
  return key.map((field) => columns[field]!);
}

/** Rows strictly after `last` in key order: a row-value comparison, which SQLite and PostgreSQL both read. */
function after(table: SQLiteTable, key: readonly string[], last: Record<string, unknown> | undefined): SQL | undefined {
  if (!last) return undefined;
  const columns = keyColumns(table, key);
  if (columns.length === 1) return gt(columns[0]!, last[key[0]!]);
  const values = columns.map((column, index) => sql.param(last[key[index]!], column));
  return sql`(${sql.join(columns, sql`, `)}) > (${sql.join(values, sql`, `)})`;
}

async function rowCount(tx: RegisterTx, name: TableName): Promise<number> {
  const [row] = await tx.db.select({ rows: count() }).from(tx.tables[name] as SQLiteTable);
  return row?.rows ?? 0;
}

export async function copyRegister({ from, to }: { from: UnitOfWork<RegisterTx>; to: UnitOfWork<RegisterTx> }): Promise<CopyReport> {
  const occupied = await to.read(async (tx) => {
    for (const name of TABLE_NAMES) if ((await rowCount(tx, name)) > 0) return name;
    return undefined;
  });
  if (occupied) throw new WaslError('copy.target_not_empty', `the target register is not empty (its table ${occupied} has rows): copy only into a new, empty register`);

  return from.write((source) => to.write((target) => copyTables(source, target)));
}

/** Every table of the source into the target, within their transactions; the rows copied, per table. */
async function copyTables(source: RegisterTx, target: RegisterTx): Promise<CopyReport> {
  const copied = Object.fromEntries(TABLE_NAMES.map((name) => [name, 0])) as CopyReport;
  for (const name of TABLE_NAMES) {
    const { key, pageRows, identity } = COPY_PLAN[name] as TableCopy<TableName>;
    const sourceTable = source.tables[name] as SQLiteTable;
    const targetTable = target.tables[name] as SQLiteTable;
    let last: Record<string, unknown> | undefined;
    for (;;) {
      const page = await source.db
        .select()
        .from(sourceTable)
        .where(after(sourceTable, key, last))
        .orderBy(...keyColumns(sourceTable, key).map((column) => asc(column)))
        .limit(pageRows);
      if (page.length === 0) break;
      await target.db.insert(targetTable).values(page);
      copied[name] += page.length;
      last = page.at(-1);
    }
    if (identity && target.engine === 'postgres') await continueIdentity(target, name);
  }
  // Checked inside the transaction: a copy that does not add up is rolled back, never kept.
  for (const name of TABLE_NAMES) {
    const stored = await rowCount(target, name);
    if (stored !== copied[name]) throw new WaslError('copy.mismatch', `table ${name}: ${copied[name]} rows read, ${stored} stored in the target`);
  }
  return copied;
}

/** PostgreSQL numbers new rows from its identity sequence, which explicit ids do not move; SQLite follows max(id) by itself. */
async function continueIdentity(tx: RegisterTx, name: TableName): Promise<void> {
  // Every table with an identity has an `id` column; the cast only lets the builder name it.
  const table = tx.tables[name] as RegisterTables['letters'];
  await tx.db.select({ next: sql`setval(pg_get_serial_sequence(${getTableName(table)}, 'id'), coalesce(max(${table.id}), 0) + 1, false)` }).from(table);
}
