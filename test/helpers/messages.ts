/** Builds real MIME messages (nodemailer's composer) for tests to send. */
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type Mail from 'nodemailer/lib/mailer/index.js';
import type { InboundLetter } from '../../src/channels/port.js';

export function composeMessage(options: Mail.Options): Promise<Buffer> {
  return new MailComposer({ ...options }).compile().build();
}

/** A citizen's email as the email adapter hands it to the core, for tests that register through the port. */
export function citizenEmail({ externalId, receivedAt, sender, senderName, to, subject, text }: { externalId: string; receivedAt: Date; sender: string; senderName: string; to: string[]; subject: string; text: string }): InboundLetter {
  return {
    channel: 'email',
    externalId,
    receivedAt,
    from: { channel: 'email', id: sender, displayName: senderName },
    replyTo: { channel: 'email', id: sender },
    to,
    subject,
    text,
    attachments: [],
  };
}
