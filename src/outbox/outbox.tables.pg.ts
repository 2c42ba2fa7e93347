/** The durable outbox on PostgreSQL: the twin of outbox.tables.ts, with the same partial indexes. */
import { sql } from 'drizzle-orm';
import { index, integer, pgTable } from 'drizzle-orm/pg-core';
import { id, idReference, instant, optionalInstant, text } from '../db/columns.pg.js';
import { letters } from '../letters/letters.tables.pg.js';

export const deliveries = pgTable(
  'deliveries',
  {
    id: id('id'),
    letterId: idReference('letter_id')
      .notNull()
      .references(() => letters.id),
    kind: text<'forward' | 'receipt' | 'answer'>('kind').notNull(),
    channel: text('channel').notNull(),
    targetId: text('target_id').notNull(),
    targetThread: text('target_thread'),
    targetName: text('target_name'),
    departmentCode: text('department_code'),
    status: text<'pending' | 'sending' | 'sent' | 'failed' | 'suppressed'>('status').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: instant('next_attempt_at').notNull(),
    lastErrorCode: text('last_error_code'),
    lastError: text('last_error'),
    externalId: text('external_id'),
    claimedBy: text('claimed_by'),
    leaseUntil: optionalInstant('lease_until'),
    createdAt: instant('created_at').notNull(),
    updatedAt: instant('updated_at').notNull(),
  },
  (table) => [
    index('deliveries_due_index').on(table.nextAttemptAt).where(sql`${table.status} = 'pending'`),
    index('deliveries_due_by_channel_index').on(table.channel, table.nextAttemptAt).where(sql`${table.status} = 'pending'`),
    index('deliveries_sending_index').on(table.leaseUntil).where(sql`${table.status} = 'sending'`),
    index('deliveries_letter_index').on(table.letterId),
    index('deliveries_external_index').on(table.channel, table.externalId).where(sql`${table.externalId} IS NOT NULL`),
  ],
);
