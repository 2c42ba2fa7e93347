/**
 * The durable outbox: every message the gateway owes someone (a forward, a receipt, an answer)
 * is a row written in the same transaction as the letter, so a letter that got its "250" is
 * never without its deliveries, even if the process dies right after.
 */
import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import { optionalInstant } from '../db/columns.sqlite.js';
import { letters } from '../letters/letters.tables.js';

export const deliveries = sqliteTable(
  'deliveries',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    letterId: integer('letter_id')
      .notNull()
      .references(() => letters.id),
    kind: text('kind', { enum: ['forward', 'receipt', 'answer'] }).notNull(),
    channel: text('channel').notNull(),
    targetId: text('target_id').notNull(),
    targetThread: text('target_thread'),
    targetName: text('target_name'),
    departmentCode: text('department_code'),
    status: text('status', { enum: ['pending', 'sending', 'sent', 'failed', 'suppressed'] }).notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: integer('next_attempt_at', { mode: 'timestamp_ms' }).notNull(),
    lastErrorCode: text('last_error_code'),
    lastError: text('last_error'),
    /** The channel's id of what was sent (email Message-ID, Slack channel:ts, Matrix event id). */
    externalId: text('external_id'),
    /**
     * While 'sending': the gateway process that claimed the delivery, and until when its claim holds
     * unless renewed. Several gateways share one register: a claim whose lease ran out (its gateway
     * died) goes back to the queue for any of them; one without a lease (an older version's) has run out.
     */
    claimedBy: text('claimed_by'),
    leaseUntil: optionalInstant('lease_until'),
    createdAt: integer('created_at', { mode: 'timestamp_ms' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'timestamp_ms' }).notNull(),
  },
  // Partial indexes hold only the rows they are looked up by: a delivery sent at once (nearly all)
  // never enters the due index, and one not yet sent not the external one. Each index a letter's
  // commit touches is a page written to the WAL (25 -> 22 pages a letter at one session).
  (table) => [
    index('deliveries_due_index').on(table.nextAttemptAt).where(sql`${table.status} = 'pending'`),
    // Each channel claims its own due deliveries (outbox.worker.ts): a backlog on one is not scanned by the others.
    index('deliveries_due_by_channel_index').on(table.channel, table.nextAttemptAt).where(sql`${table.status} = 'pending'`),
    // The claims held: looked through for leases run out and a stopping gateway's own, never the whole table.
    index('deliveries_sending_index').on(table.leaseUntil).where(sql`${table.status} = 'sending'`),
    index('deliveries_letter_index').on(table.letterId),
    index('deliveries_external_index').on(table.channel, table.externalId).where(sql`${table.externalId} IS NOT NULL`),
  ],
);
