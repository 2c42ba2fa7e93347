/**
 * Pure mapping from the core's outbound message to the email nodemailer sends. Whatever a person
 * gave (names, subject, attached files) goes out as well-formed mail: headers of one line, folded,
 * and a body that is 7bit-safe (RFC 5322 §2.1.1, RFC 2045 §2.7).
 */
import type Mail from 'nodemailer/lib/mailer/index.js';
import mimeFuncs from 'nodemailer/lib/mime-funcs/index.js';
import type { Attachment, OutboundMessage } from '../../src/channels/port.js';
import { ANSWER_PREFIX } from '../../src/routing/routing.js';
import { forDisplay } from '../../src/templates/display-text.js';
import { oneLine } from '../../src/templates/header-text.js';

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

/** A display name in From or To: one line, and short enough that its header line stays well within 998 bytes even unencoded. */
const NAME_LIMIT = 64;

const displayName = (name: string) => forDisplay(oneLine(name), NAME_LIMIT);

/**
 * nodemailer folds a header at its spaces (foldLines, 76 characters) and leaves a longer word
 * whole: a subject of 100,000 letters without a space went out as one line of 100 KB, over the
 * 998 of RFC 5322 §2.1.1. Such a subject goes out as RFC 2047 encoded words, which nodemailer cuts
 * to 52 characters and folds between (it does so by itself for any subject that is not ASCII). So
 * does one holding "=?", which a client would otherwise decode as an encoded word (RFC 2047 §5):
 * a sender's literal `=?UTF-8?B?…?=` must not become "\r\nBcc: …" on the department's screen.
 */
const LONGEST_FOLDABLE_WORD = 60;

function foldableSubject(subject: string, encoding: 'base64' | 'quoted-printable'): string {
  const line = oneLine(subject);
  const plain = !line.includes('=?') && line.split(' ').every((word) => word.length <= LONGEST_FOLDABLE_WORD);
  return plain ? line : mimeFuncs.encodeWord(line, encoding === 'base64' ? 'B' : 'Q', 52);
}

/**
 * The sender's Message-ID, to thread the reply, when it is one: `<…>` without spaces or controls,
 * and short enough for its header line (nodemailer cannot fold it). Otherwise the reply is not threaded.
 */
const threadableId = (id: string | undefined) => (id && /^<[^\s<>\p{Cc}]{1,250}>$/u.test(id) ? id : undefined);

/** A media type as RFC 6838 §4.2 names one; anything else (or a multipart, whose content nodemailer would drop) is sent as bytes. */
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,126}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;

/** Whether bytes are 7bit data (RFC 2045 §2.7): no NUL, no byte over 127, CR and LF only as CRLF, lines of at most 998 bytes. */
function isSevenBit(bytes: Uint8Array): boolean {
  let lineLength = 0;
  for (let index = 0; index < bytes.length; index += 1) {
    const byte = bytes[index]!;
    if (byte === 0x0d && bytes[index + 1] === 0x0a) {
      index += 1;
      lineLength = 0;
    } else if (byte === 0 || byte === 0x0a || byte === 0x0d || byte > 0x7f || ++lineLength > 998) return false;
  }
  return true;
}

/**
 * Every attachment is base64 (nodemailer's default), except attached messages: RFC 2046 §5.2.1
 * allows message/rfc822 only 7bit, 8bit or binary, and Thunderbird will not open one in base64.
 * nodemailer sends them as 8bit as they are, so a bare `\r.\r\n`, a NUL or a 1,209-byte line
 * reached the relay raw (a relay taking a bare CR for a line end sees the end of DATA there). An
 * attached message that is 7bit data goes as it is; any other goes as a file, `.eml`, in base64,
 * which every client opens and which carries its bytes intact. 8bit is not an option: nodemailer
 * does not ask the relay for 8BITMIME with the envelope we give it, and bare CRs would stay.
 */
function attachmentOf(attachment: Attachment): Mail.Attachment {
  const content = Buffer.from(attachment.content);
  const filename = attachment.filename;
  const type = attachment.contentType.split(';')[0]!.trim().toLowerCase();
  if (!MEDIA_TYPE.test(type) || type.startsWith('multipart/')) return { filename, contentType: 'application/octet-stream', content };
  if (!type.startsWith('message/')) return { filename, contentType: type, content };
  // An attachment as the sender attached it: nodemailer would show an attached message inline, mixed into the forward's text.
  if (isSevenBit(content)) return { filename, contentType: type, content, contentTransferEncoding: '7bit', contentDisposition: 'attachment' };
  const eml = /^message\/(rfc822|global)$/.test(type) && filename && !/\.eml$/i.test(filename) ? `${filename}.eml` : filename;
  return { filename: eml, contentType: 'application/octet-stream', content };
}

export function toMail({
  message,
  identity,
  envelopeFrom,
}: {
  message: OutboundMessage;
  identity: MailIdentity;
  /** The delivery's VERP address (verp.ts): a bounce names the delivery it is about, so it marks that delivery instead of becoming a letter. */
  envelopeFrom: string;
}): Mail.Options & { envelope: { from: string; to: string } } {
  const { domain } = identity;
  const sender = message.letter.sender;
  const fromName = message.kind === 'forward' ? `${displayName(sender.displayName || sender.id)} via ${identity.officeName}` : identity.officeName;
  const automatic = message.kind === 'receipt';
  const textEncoding = textEncodingFor(`${message.subject}${message.text}`);
  const inReplyTo = threadableId(message.inReplyTo);
  return {
    messageId: messageIdFor({ deliveryId: message.deliveryId, number: message.letter.number, domain }),
    from: { name: fromName, address: `${identity.fromLocalPart}@${domain}` },
    to: message.to.displayName ? { name: displayName(message.to.displayName), address: message.to.id } : message.to.id,
    // Replies to a forward come back through the answer address, bound to this letter by its token.
    replyTo: message.answerToken ? `${ANSWER_PREFIX}${message.answerToken}@${domain}` : undefined,
    subject: foldableSubject(message.subject, textEncoding),
    // A bare CR would pass quoted-printable as it is (nodemailer turns only a bare LF into CRLF).
    text: message.text.replace(/\r\n?/g, '\n'),
    textEncoding,
    html: message.html,
    inReplyTo,
    references: inReplyTo ? [inReplyTo] : undefined,
    attachments: message.attachments.map(attachmentOf),
    headers: {
      'X-Wasl-Number': message.letter.number,
      ...(automatic ? { 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'All' } : {}),
    },
    envelope: { from: envelopeFrom, to: message.to.id },
  };
}
