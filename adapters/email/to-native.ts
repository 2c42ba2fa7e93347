/** Pure mapping from the core's outbound message to the email nodemailer sends. */
import type Mail from 'nodemailer/lib/mailer/index.js';
import type { OutboundMessage } from '../../src/channels/port.js';
import { ANSWER_PREFIX, BOUNCE_PREFIX } from '../../src/routing/routing.js';

export interface MailIdentity {
  domain: string;
  fromLocalPart: string;
  officeName: string;
}

/** Stable per delivery: a retried send carries the same Message-ID, so the recipient can see it twice only as the same message. */
export function messageIdFor({ deliveryId, number, domain }: { deliveryId: number; number: string; domain: string }): string {
  return `<wasl.${deliveryId}.${number}@${domain}>`;
}

export function toMail({ message, identity }: { message: OutboundMessage; identity: MailIdentity }): Mail.Options & { envelope: { from: string; to: string } } {
  const { domain } = identity;
  const sender = message.letter.sender;
  const fromName = message.kind === 'forward' ? `${sender.displayName || sender.id} via ${identity.officeName}` : identity.officeName;
  const automatic = message.kind === 'receipt';
  return {
    messageId: messageIdFor({ deliveryId: message.deliveryId, number: message.letter.number, domain }),
    from: { name: fromName, address: `${identity.fromLocalPart}@${domain}` },
    to: message.to.displayName ? { name: message.to.displayName, address: message.to.id } : message.to.id,
    // Replies to a forward come back through the answer address, bound to this letter by its token.
    replyTo: message.answerToken ? `${ANSWER_PREFIX}${message.answerToken}@${domain}` : undefined,
    subject: message.subject,
    text: message.text,
    html: message.html,
    inReplyTo: message.inReplyTo,
    references: message.inReplyTo ? [message.inReplyTo] : undefined,
    attachments: message.attachments.map((attachment) => ({
      filename: attachment.filename,
      contentType: attachment.contentType,
      content: Buffer.from(attachment.content),
    })),
    headers: {
      'X-Wasl-Number': message.letter.number,
      ...(automatic ? { 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'All' } : {}),
    },
    // VERP: a bounce names the delivery it is about, so it marks that delivery instead of becoming a letter.
    envelope: { from: `${BOUNCE_PREFIX}${message.deliveryId}@${domain}`, to: message.to.id },
  };
}
