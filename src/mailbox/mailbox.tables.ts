/** The built-in mailbox: outgoing mail kept on this machine when no outbound relay is configured. */
import { blob, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const mailboxMessages = sqliteTable('mailbox_messages', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  deliveryId: integer('delivery_id').notNull(),
  envelopeFrom: text('envelope_from').notNull(),
  recipients: text('recipients').notNull(),
  subject: text('subject').notNull(),
  raw: blob('raw', { mode: 'buffer' }).notNull(),
  storedAt: integer('stored_at', { mode: 'timestamp_ms' }).notNull(),
});
