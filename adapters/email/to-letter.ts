/**
 * Pure mapping from a received email (parsed by mailparser, with its SMTP envelope) to the core's
 * channel-neutral letter. No I/O here: tested on recorded messages.
 */
import { createHash } from 'node:crypto';
import type { AddressObject, HeaderValue, ParsedMail } from 'mailparser';
import type { AutomatedKind, InboundLetter } from '../../src/channels/port.js';

export interface SmtpEnvelope {
  /** The envelope sender; '' for the null sender (bounces, RFC 5321 §4.5.5). */
  mailFrom: string;
  rcptTo: string[];
}

function firstAddress(field: AddressObject | AddressObject[] | undefined): { address: string; name?: string } | undefined {
  const objects = Array.isArray(field) ? field : field ? [field] : [];
  for (const object of objects) {
    for (const entry of object.value) {
      if (entry.address) return { address: entry.address.toLowerCase(), name: entry.name || undefined };
    }
  }
  return undefined;
}

function headerText(value: HeaderValue | undefined): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.join(', ');
  if (typeof value === 'object' && 'value' in value) return String((value as { value: unknown }).value);
  return String(value);
}

const DAEMON_LOCAL_PARTS = new Set(['mailer-daemon', 'mailer_daemon', 'postmaster']);

/**
 * Whether a machine wrote this message, by the headers that say so: RFC 3834 (Auto-Submitted),
 * the null sender and daemon senders of bounces (RFC 3464 multipart/report), mailing-list and
 * bulk markers (Precedence, List-Id, RFC 2369/2919), and Microsoft's X-Auto-Response-Suppress.
 * Such a message never gets a receipt, so the gateway cannot loop with an auto-responder.
 */
export function detectAutomated({ parsed, mailFrom }: { parsed: Pick<ParsedMail, 'headers'>; mailFrom: string }): AutomatedKind | undefined {
  const headers = parsed.headers;
  const contentType = headers.get('content-type');
  const mime = typeof contentType === 'object' && contentType && 'value' in contentType ? String(contentType.value).toLowerCase() : headerText(contentType).toLowerCase();
  if (mime.startsWith('multipart/report')) {
    const params = typeof contentType === 'object' && contentType && 'params' in contentType ? (contentType.params as Record<string, string>) : {};
    return (params['report-type'] ?? '').toLowerCase() === 'delivery-status' ? 'bounce' : 'report';
  }
  const localPart = mailFrom.split('@')[0]?.toLowerCase() ?? '';
  if (mailFrom === '' || DAEMON_LOCAL_PARTS.has(localPart)) return 'bounce';
  const autoSubmitted = headerText(headers.get('auto-submitted')).trim().toLowerCase();
  if (autoSubmitted && !autoSubmitted.startsWith('no')) return 'auto-reply';
  if (headers.has('x-autoreply') || headers.has('x-autorespond')) return 'auto-reply';
  const suppress = headerText(headers.get('x-auto-response-suppress')).toLowerCase();
  if (/\b(all|autoreply|oof)\b/.test(suppress)) return 'auto-reply';
  const precedence = headerText(headers.get('precedence')).trim().toLowerCase();
  if (['bulk', 'junk', 'list'].includes(precedence)) return 'bulk';
  if (headers.has('list-id') || headers.has('list-unsubscribe')) return 'bulk';
  return undefined;
}

export function emailToLetter({
  parsed,
  raw,
  envelope,
  receivedAt,
  answerToken,
}: {
  parsed: ParsedMail;
  raw: Buffer;
  envelope: SmtpEnvelope;
  receivedAt: Date;
  answerToken?: string | undefined;
}): InboundLetter {
  const author = firstAddress(parsed.from);
  const mailFrom = envelope.mailFrom.toLowerCase();
  const automated = detectAutomated({ parsed, mailFrom });
  const language = headerText(parsed.headers.get('content-language')).split(',')[0]?.trim() || undefined;
  return {
    channel: 'email',
    // A message without Message-ID is identified by its bytes: resending the same bytes is a duplicate.
    externalId: parsed.messageId ?? `sha256:${createHash('sha256').update(raw).digest('hex')}`,
    receivedAt,
    from: { channel: 'email', id: author?.address ?? (mailFrom || 'unknown'), displayName: author?.name },
    // RFC 3834 §4: automatic responses go to the envelope sender (Return-Path), not to From.
    replyTo: mailFrom && automated !== 'bounce' ? { channel: 'email', id: mailFrom, displayName: author?.name } : undefined,
    to: envelope.rcptTo,
    subject: parsed.subject?.trim() || undefined,
    text: parsed.text ?? '',
    html: typeof parsed.html === 'string' ? parsed.html : undefined,
    attachments: parsed.attachments.map((attachment) => ({
      filename: attachment.filename,
      contentType: attachment.contentType || 'application/octet-stream',
      content: attachment.content,
    })),
    inReplyTo: parsed.inReplyTo,
    answerToken,
    raw,
    automated,
    language,
  };
}
