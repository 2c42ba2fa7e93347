/** Rate buckets on PostgreSQL: the twin of limits.tables.ts. */
import { index, pgTable, primaryKey } from 'drizzle-orm/pg-core';
import { real, text } from '../db/columns.pg.js';

export const rateBuckets = pgTable(
  'rate_buckets',
  {
    kind: text('kind').notNull(),
    key: text('key').notNull(),
    fullAt: real('full_at').notNull(),
  },
  (table) => [primaryKey({ columns: [table.kind, table.key] }), index('rate_buckets_full_at').on(table.kind, table.fullAt)],
);
