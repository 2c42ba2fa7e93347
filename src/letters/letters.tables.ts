/**
 * The register. Letters are appended, never rewritten: what happens to a letter afterwards is a
 * new row in `letter_events` (the `status` column is only a projection of the latest event, kept
 * for listing). Contents (original messages, attachments) are stored once by SHA-256 in `blobs`.
 */
import { sql } from 'drizzle-orm';
import { blob, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

export const blobs = sqliteTable('blobs', {
  sha256: text('sha256').primaryKey(),
  size: integer('size').notNull(),
  content: blob('content', { mode: 'buffer' }).notNull(),
});

/** The last sequence used per year and direction: numbers are taken in the registering transaction, so a rollback leaves no gap. */
export const counters = sqliteTable(
  'counters',
  {
    year: integer('year').notNull(),
    direction: text('direction', { enum: ['A', 'D'] }).notNull(),
    lastSequence: integer('last_sequence').notNull(),
  },
  (table) => [primaryKey({ columns: [table.year, table.direction] })],
);

export const letters = sqliteTable(
  'letters',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    number: text('number').notNull(),
    year: integer('year').notNull(),
    direction: text('direction', { enum: ['A', 'D'] }).notNull(),
    sequence: integer('sequence').notNull(),
    channel: text('channel').notNull(),
    externalId: text('external_id').notNull(),
    senderId: text('sender_id').notNull(),
    senderName: text('sender_name'),
    /** Where receipts and answers go; null for a null sender. */
    replyChannel: text('reply_channel'),
    replyId: text('reply_id'),
    replyThread: text('reply_thread'),
    subject: text('subject'),
    bodyText: text('body_text').notNull(),
    bodyHtml: text('body_html'),
    /** SHA-256 of the original bytes (the raw message, or the canonical form of a chat message). */
    originalSha256: text('original_sha256').notNull(),
    originalSize: integer('original_size').notNull(),
    receivedAt: integer('received_at', { mode: 'timestamp_ms' }).notNull(),
    registeredAt: integer('registered_at', { mode: 'timestamp_ms' }).notNull(),
    status: text('status').notNull(),
    receiptToken: text('receipt_token').notNull(),
    language: text('language').notNull(),
    automated: text('automated'),
    answersLetterId: integer('answers_letter_id'),
    /** What the channel proved about the sender (port.ts SenderAuthentication) as JSON; null when it checked nothing. */
    authentication: text('authentication'),
    /** The signed statement (canonical JSON) and its signature, for receipts that prove something. */
    statement: text('statement'),
    signature: text('signature'),
    previousEntryHash: text('previous_entry_hash'),
    entryHash: text('entry_hash'),
    /** The form the register entry was sealed in (statement.ts): 1 before sender verdicts were sealed. */
    entryVersion: integer('entry_version').notNull().default(1),
  },
  (table) => [
    uniqueIndex('letters_number_unique').on(table.number),
    uniqueIndex('letters_year_direction_sequence_unique').on(table.year, table.direction, table.sequence),
    // One letter per message and content: an email with another's Message-ID but other bytes is a letter of its own.
    uniqueIndex('letters_channel_message_original_unique').on(table.channel, table.senderId, table.externalId, table.originalSha256),
    uniqueIndex('letters_receipt_token_unique').on(table.receiptToken),
    index('letters_status_index').on(table.status),
  ],
);

export const letterDepartments = sqliteTable(
  'letter_departments',
  {
    letterId: integer('letter_id')
      .notNull()
      .references(() => letters.id),
    departmentCode: text('department_code').notNull(),
    /** 'registration' for the departments sealed in the register entry; 'transfer' for those a letter was sent on to later. */
    via: text('via', { enum: ['registration', 'transfer'] }).notNull().default('registration'),
  },
  (table) => [primaryKey({ columns: [table.letterId, table.departmentCode] }), index('letter_departments_code_index').on(table.departmentCode)],
);

export const attachments = sqliteTable(
  'attachments',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    letterId: integer('letter_id')
      .notNull()
      .references(() => letters.id),
    position: integer('position').notNull(),
    sha256: text('sha256')
      .notNull()
      .references(() => blobs.sha256),
    /** The sender's name for the file, shown to people only: files are stored by hash. */
    filename: text('filename'),
    contentType: text('content_type').notNull(),
    size: integer('size').notNull(),
  },
  (table) => [index('attachments_letter_index').on(table.letterId)],
);

/** The history of a letter: registered, forwarded, acknowledged, transferred, answered, closed... */
export const letterEvents = sqliteTable(
  'letter_events',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    letterId: integer('letter_id')
      .notNull()
      .references(() => letters.id),
    type: text('type').notNull(),
    at: integer('at', { mode: 'timestamp_ms' }).notNull(),
    actorChannel: text('actor_channel'),
    actorId: text('actor_id'),
    actorName: text('actor_name'),
    departmentCode: text('department_code'),
    /** Event-specific facts as JSON (the answer's number, the department transferred to...). */
    detail: text('detail'),
  },
  (table) => [index('letter_events_letter_index').on(table.letterId)],
);

/** Channel events acted on once (button presses, commands), so a retry or a restart never acts twice. */
export const processedEvents = sqliteTable(
  'processed_events',
  {
    channel: text('channel').notNull(),
    eventId: text('event_id').notNull(),
    at: integer('at', { mode: 'timestamp_ms' })
      .notNull()
      .default(sql`(unixepoch() * 1000)`),
  },
  (table) => [primaryKey({ columns: [table.channel, table.eventId] })],
);
