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

/**
 * Left to itself, nodemailer chooses quoted-printable or base64 by counting the letters of every
 * text and header it encodes (profiled: 0.2 ms a letter). One look decides the same for what we
 * send: Arabic script is shorter in base64, Latin text shorter (and readable) in quoted-printable.
 */
function textEncodingFor(text: string): 'base64' | 'quoted-printable' {
  return /[\u0600-\u06ff]/.test(text) ? 'base64' : 'quoted-printable';
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
    textEncoding: textEncodingFor(`${message.subject}${message.text}`),
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
    // VERP: a bounce names the delivery it is about, by a token only we can make (src/receipts/tokens.ts),
    // so it marks that delivery instead of becoming a letter.
    envelope: { from: `${BOUNCE_PREFIX}${message.bounceToken}@${domain}`, to: message.to.id },
  };
}
