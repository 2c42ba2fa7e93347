/** The built-in mailbox's rows: what the gateway would have sent, kept for the web and the CLI to show. */
import { desc, eq } from 'drizzle-orm';
import type { MailboxMessageInput } from '../channels/port.js';
import type { RegisterTables, RegisterTx } from '../db/register-tx.js';

export type MailboxMessage = RegisterTables['mailboxMessages']['$inferSelect'];

export async function keepMessage(tx: RegisterTx, { message, at }: { message: MailboxMessageInput; at: Date }): Promise<{ id: number }> {
  const { mailboxMessages } = tx.tables;
  const [kept] = await tx.db
    .insert(mailboxMessages)
    .values({
      deliveryId: message.deliveryId,
      envelopeFrom: message.envelopeFrom,
      recipients: message.recipients.join(', '),
      subject: message.subject,
      raw: Buffer.from(message.raw),
      storedAt: at,
    })
    .returning({ id: mailboxMessages.id });
  return kept!;
}

export async function listMessages(tx: RegisterTx, limit: number): Promise<Omit<MailboxMessage, 'raw'>[]> {
  const { mailboxMessages } = tx.tables;
  return tx.db
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
    .limit(limit);
}

export async function messageById(tx: RegisterTx, id: number): Promise<MailboxMessage | undefined> {
  const { mailboxMessages } = tx.tables;
  return (await tx.db.select().from(mailboxMessages).where(eq(mailboxMessages.id, id)).limit(1))[0];
}
