/** The built-in mailbox's rows: what the gateway would have sent, kept for the web and the CLI to show. */
import { desc, eq } from 'drizzle-orm';
import type { MailboxMessageInput } from '../channels/port.js';
import type { Db } from '../db/db.js';
import { mailboxMessages } from './mailbox.tables.js';

export type MailboxMessage = typeof mailboxMessages.$inferSelect;

export function keepMessage(db: Db, { message, at }: { message: MailboxMessageInput; at: Date }): { id: number } {
  return db
    .insert(mailboxMessages)
    .values({
      deliveryId: message.deliveryId,
      envelopeFrom: message.envelopeFrom,
      recipients: message.recipients.join(', '),
      subject: message.subject,
      raw: Buffer.from(message.raw),
      storedAt: at,
    })
    .returning({ id: mailboxMessages.id })
    .get();
}

export function listMessages(db: Db, limit: number): Omit<MailboxMessage, 'raw'>[] {
  return db
    .select({
      id: mailboxMessages.id,
      deliveryId: mailboxMessages.deliveryId,
      envelopeFrom: mailboxMessages.envelopeFrom,
      recipients: mailboxMessages.recipients,
      subject: mailboxMessages.subject,
      storedAt: mailboxMessages.storedAt,
    })
    .from(mailboxMessages)
    .orderBy(desc(mailboxMessages.id))
    .limit(limit)
    .all();
}

export function messageById(db: Db, id: number): MailboxMessage | undefined {
  return db.select().from(mailboxMessages).where(eq(mailboxMessages.id, id)).get();
}
