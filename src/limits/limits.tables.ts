/**
 * Rate buckets: the limits several gateways must hold together (letters per sender, sessions and
 * letters per client), one row per kind of limit and key. A token bucket is kept as the one
 * instant it is full again (GCRA): taking a token pushes that instant one share of the window
 * later, and a bucket whose instant has passed is the same as no row, so it is pruned.
 */
import { index, primaryKey, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const rateBuckets = sqliteTable(
  'rate_buckets',
  {
    /** Which limit: the channel and what it counts (`email:letters-per-sender`). */
    kind: text('kind').notNull(),
    /** What is counted: a client address, a sender address. */
    key: text('key').notNull(),
    /** When the bucket is full again, in milliseconds since the epoch (a fraction of one where the window does not divide evenly). */
    fullAt: real('full_at').notNull(),
  },
  (table) => [primaryKey({ columns: [table.kind, table.key] }), index('rate_buckets_full_at').on(table.kind, table.fullAt)],
);
