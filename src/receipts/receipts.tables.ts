/**
 * The per-sender receipt allowance (the loop guard's memory): one row per place receipts go, a
 * token bucket, so deciding costs one row read whatever the sender's volume or the cap.
 */
import { integer, primaryKey, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const receiptAllowances = sqliteTable(
  'receipt_allowances',
  {
    channel: text('channel').notNull(),
    targetId: text('target_id').notNull(),
    /** The chat thread receipts go to; '' for none (a key column cannot be null). */
    targetThread: text('target_thread').notNull(),
    /** Receipts that may still go now; refilled continuously at the hourly cap. */
    tokens: real('tokens').notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.channel, table.targetId, table.targetThread] })],
);
