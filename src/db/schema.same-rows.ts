/**
 * Checked by tsc only: each PostgreSQL table reads and writes the same row type as its SQLite twin,
 * so the core never knows which engine holds the register.
 */
import type { InferInsertModel, InferSelectModel, Table } from 'drizzle-orm';
import type * as sqlite from './schema.js';
import type * as postgres from './schema.pg.js';

type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type SameRows<S extends Table, P extends Table> = Same<InferSelectModel<S>, InferSelectModel<P>> extends true
  ? Same<InferInsertModel<S>, InferInsertModel<P>>
  : false;
type TableNames = { [Name in keyof typeof sqlite]: (typeof sqlite)[Name] extends Table ? Name : never }[keyof typeof sqlite];
type EveryTableHasSameRows = {
  [Name in TableNames]: Name extends keyof typeof postgres
    ? (typeof sqlite)[Name] extends Table
      ? (typeof postgres)[Name] extends Table
        ? SameRows<(typeof sqlite)[Name], (typeof postgres)[Name]>
        : false
      : false
    : false;
};

export const everyTableHasSameRows: EveryTableHasSameRows extends Record<TableNames, true> ? true : false = true;
