/** The register's tables on PostgreSQL: the twin of letters.tables.ts, same columns and row types. */
import { index, integer, pgTable, primaryKey, uniqueIndex } from 'drizzle-orm/pg-core';
import { bytea, id, idReference, instant, text } from '../db/columns.pg.js';

export const blobs = pgTable('blobs', {
  sha256: text('sha256').primaryKey(),
  size: integer('size').notNull(),
  content: bytea('content').notNull(),
});

export const counters = pgTable(
  'counters',
  {
    year: integer('year').notNull(),
    direction: text<'A' | 'D'>('direction').notNull(),
    lastSequence: integer('last_sequence').notNull(),
  },
  (table) => [primaryKey({ columns: [table.year, table.direction] })],
);

export const letters = pgTable(
  'letters',
  {
    id: id('id'),
    number: text('number').notNull(),
    year: integer('year').notNull(),
    direction: text<'A' | 'D'>('direction').notNull(),
    sequence: integer('sequence').notNull(),
    channel: text('channel').notNull(),
    externalId: text('external_id').notNull(),
    senderId: text('sender_id').notNull(),
    senderName: text('sender_name'),
    replyChannel: text('reply_channel'),
    replyId: text('reply_id'),
    replyThread: text('reply_thread'),
    subject: text('subject'),
    bodyText: text('body_text').notNull(),
    bodyHtml: text('body_html'),
    originalSha256: text('original_sha256').notNull(),
    originalSize: integer('original_size').notNull(),
    receivedAt: instant('received_at').notNull(),
    registeredAt: instant('registered_at').notNull(),
    status: text('status').notNull(),
    receiptToken: text('receipt_token').notNull(),
    language: text('language').notNull(),
    automated: text('automated'),
    answersLetterId: idReference('answers_letter_id'),
    authentication: text('authentication'),
    statement: text('statement'),
    signature: text('signature'),
    previousEntryHash: text('previous_entry_hash'),
    entryHash: text('entry_hash'),
    entryVersion: integer('entry_version').notNull().default(1),
  },
  (table) => [
    uniqueIndex('letters_number_unique').on(table.number),
    uniqueIndex('letters_year_direction_sequence_unique').on(table.year, table.direction, table.sequence),
    uniqueIndex('letters_channel_message_original_unique').on(table.channel, table.senderId, table.externalId, table.originalSha256),
    uniqueIndex('letters_receipt_token_unique').on(table.receiptToken),
    index('letters_status_index').on(table.status),
  ],
);

export const letterDepartments = pgTable(
  'letter_departments',
  {
    letterId: idReference('letter_id')
      .notNull()
      .references(() => letters.id),
    departmentCode: text('department_code').notNull(),
    via: text<'registration' | 'transfer'>('via').notNull().default('registration'),
  },
  (table) => [primaryKey({ columns: [table.letterId, table.departmentCode] }), index('letter_departments_code_index').on(table.departmentCode)],
);

export const attachments = pgTable(
  'attachments',
  {
    id: id('id'),
    letterId: idReference('letter_id')
      .notNull()
      .references(() => letters.id),
    position: integer('position').notNull(),
    sha256: text('sha256')
      .notNull()
      .references(() => blobs.sha256),
    filename: text('filename'),
    contentType: text('content_type').notNull(),
    size: integer('size').notNull(),
  },
  (table) => [index('attachments_letter_index').on(table.letterId)],
);

export const letterEvents = pgTable(
  'letter_events',
  {
    id: id('id'),
    letterId: idReference('letter_id')
      .notNull()
      .references(() => letters.id),
    type: text('type').notNull(),
    at: instant('at').notNull(),
    actorChannel: text('actor_channel'),
    actorId: text('actor_id'),
    actorName: text('actor_name'),
    departmentCode: text('department_code'),
    detail: text('detail'),
  },
  (table) => [index('letter_events_letter_index').on(table.letterId)],
);

export const processedEvents = pgTable(
  'processed_events',
  {
    channel: text('channel').notNull(),
    eventId: text('event_id').notNull(),
    at: instant('at').notNull().defaultNow(),
  },
  (table) => [primaryKey({ columns: [table.channel, table.eventId] })],
);
