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

/** Control characters (C0, DEL, C1), bidirectional overrides and isolates, zero-width characters. */
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;
/** Reserved in file names on Windows, where department staff save attachments. */
const RESERVED = /[<>:"|?*]/g;
const MAX_FILENAME_LENGTH = 180;

/**
 * The name an attachment is shown and saved under by the department: the sender's name as far as
 * it is harmless. No directories (only the last path segment), no control characters, no
 * right-to-left override hiding the real extension (`facture\u202Efdp.exe`), no leading dots.
 * The name as given stays in the register as metadata only; nothing is ever stored under it.
 */
export function displayFilename({ filename, position }: { filename: string | undefined; position: number }): string {
  const visible = (filename ?? '').normalize('NFC').replace(INVISIBLE, '');
  const lastSegment = visible.split(/[/\\]/).pop() ?? '';
  const cleaned = lastSegment.replace(RESERVED, '_').replace(/\s+/g, ' ').replace(/^[\s.]+/, '').trimEnd();
  if (cleaned === '') return `attachment-${position + 1}`;
  // Counted in code points, so a cut never splits a character.
  const characters = [...cleaned];
  if (characters.length <= MAX_FILENAME_LENGTH) return cleaned;
  const extension = /\.[^.]{1,10}$/u.exec(cleaned)?.[0] ?? '';
  return `${characters.slice(0, MAX_FILENAME_LENGTH - [...extension].length).join('')}${extension}`;
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
    attachments: message.attachments.map((attachment, position) => ({
      filename: displayFilename({ filename: attachment.filename, position }),
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
