/** The per-sender receipt allowance on PostgreSQL: the twin of receipts.tables.ts. */
import { pgTable, primaryKey } from 'drizzle-orm/pg-core';
import { instant, real, text } from '../db/columns.pg.js';

export const receiptAllowances = pgTable(
  'receipt_allowances',
  {
    channel: text('channel').notNull(),
    targetId: text('target_id').notNull(),
    targetThread: text('target_thread').notNull(),
    tokens: real('tokens').notNull(),
    updatedAt: instant('updated_at').notNull(),
  },
  (table) => [primaryKey({ columns: [table.channel, table.targetId, table.targetThread] })],
);
