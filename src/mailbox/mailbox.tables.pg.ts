/** The built-in mailbox on PostgreSQL: the twin of mailbox.tables.ts. */
import { pgTable } from 'drizzle-orm/pg-core';
import { bytea, id, idReference, instant, text } from '../db/columns.pg.js';

export const mailboxMessages = pgTable('mailbox_messages', {
  id: id('id'),
  deliveryId: idReference('delivery_id').notNull(),
  envelopeFrom: text('envelope_from').notNull(),
  recipients: text('recipients').notNull(),
  subject: text('subject').notNull(),
  raw: bytea('raw').notNull(),
  storedAt: instant('stored_at').notNull(),
});
