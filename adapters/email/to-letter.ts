/**
 * Pure mapping from a received email (parsed by mailparser, with its SMTP envelope) to the core's
 * channel-neutral letter. No I/O here: tested on recorded messages.
 */
import { createHash } from 'node:crypto';
import type { AddressObject, HeaderValue, ParsedMail } from 'mailparser';
import type { AutomatedKind, EmailAuthentication, InboundLetter } from '../../src/channels/port.js';

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

const DAEMON_LOCAL_PARTS = new Set(['mailer-daemon', 'mailer_daemon', 'postmaster', 'post_master']);

/** Machines that say they read no replies: a receipt to them is lost, or answered by another machine. */
const NO_REPLY_LOCAL_PART = /^(no[-_.]?reply|do[-_.]?not[-_.]?reply)([-+_.].*)?$/;

/**
 * Subjects MTAs give the bounces they write without a multipart/report (qmail, Exchange, Domino,
 * Exim, Gmail...). Anchored at the start: a citizen may well mention a "returned mail" later on.
 */
const BOUNCE_SUBJECT =
  /^(undelivered mail returned to sender|undeliver(able|ed)\b|delivery status notification|delivery (failure|failed|has failed|problem)|mail delivery (failed|failure|system)|returned mail\b|failure notice|message delivery has failed|mail system error|non[- ]?delivery|warning: could not send|unzustellbar|non remis|échec de (la )?(remise|distribution))/i;

/**
 * Out-of-office subjects in the forms Outlook, Exchange, Thunderbird and Gmail use, in Arabic,
 * French and English: a known prefix followed by a colon, or the whole subject (Thunderbird's
 * "Auto:" only with its colon). A bare "Absence" is not one: citizens write to human resources
 * about absences.
 */
const OUT_OF_OFFICE_PHRASES = [
  'automatic reply',
  'auto reply',
  'auto-reply',
  'autoreply',
  'out of office',
  'out of the office',
  'out of office autoreply',
  'réponse automatique',
  'reponse automatique',
  'absent du bureau',
  'absence du bureau',
  "message d'absence",
  'message d’absence',
  "avis d'absence",
  'avis d’absence',
  'رد تلقائي',
  'الرد التلقائي',
  'رد آلي',
  'خارج المكتب',
];
const OUT_OF_OFFICE_SUBJECT = new RegExp(`^(?:(?:${OUT_OF_OFFICE_PHRASES.join('|')})\\s*(?:[:：]|$)|auto\\s*:)`, 'iu');

/** Mailing-list markers: RFC 2369/2919, and those of ezmlm, fml and Mailman. */
const LIST_HEADERS = ['list-id', 'list-unsubscribe', 'mailing-list', 'x-mlserver', 'x-ml-name', 'x-mailman-version'];

function isDaemon(address: string | undefined): boolean {
  return DAEMON_LOCAL_PARTS.has(address?.split('@')[0]?.toLowerCase() ?? '');
}

/**
 * Whether a machine wrote this message, by the headers that say so: bounces (RFC 3464
 * multipart/report, a message/delivery-status part, a daemon sender or a bounce subject),
 * auto-replies (RFC 3834 Auto-Submitted, the null sender), mailing-list and bulk markers (Precedence,
 * List-Id, RFC 2369/2919), Microsoft's X-Auto-Response-Suppress, no-reply senders and
 * out-of-office subjects. Such a message never gets a receipt, so the gateway cannot loop with an
 * auto-responder.
 */
export function detectAutomated({ parsed, mailFrom }: { parsed: Pick<ParsedMail, 'headers'> & Partial<Pick<ParsedMail, 'attachments'>>; mailFrom: string }): AutomatedKind | undefined {
  const headers = parsed.headers;
  const contentType = headers.get('content-type');
  const mime = typeof contentType === 'object' && contentType && 'value' in contentType ? String(contentType.value).toLowerCase() : headerText(contentType).toLowerCase();
  if (mime.startsWith('multipart/report')) {
    const params = typeof contentType === 'object' && contentType && 'params' in contentType ? (contentType.params as Record<string, string>) : {};
    return (params['report-type'] ?? '').toLowerCase() === 'delivery-status' ? 'bounce' : 'report';
  }
  const author = firstAddress(headers.get('from') as AddressObject | undefined)?.address;
  const subject = headerText(headers.get('subject')).trim();
  if (isDaemon(mailFrom) || isDaemon(author)) return 'bounce';
  if (parsed.attachments?.some((attachment) => /^message\/(global-)?delivery-status$/i.test(attachment.contentType))) return 'bounce';
  if (BOUNCE_SUBJECT.test(subject)) return 'bounce';
  if (parsed.attachments?.some((attachment) => /^message\/feedback-report$/i.test(attachment.contentType))) return 'report';
  // Microsoft's complaint loop (JMRP) sends a multipart/mixed, not an ARF report.
  if (/^complaint about message from\b/i.test(subject)) return 'report';
  // RFC 3834 §3.3 asks auto-responders to use the null sender too: without a bounce's marks, it is one of those.
  if (mailFrom === '') return 'auto-reply';
  const autoSubmitted = headerText(headers.get('auto-submitted')).trim().toLowerCase();
  if (autoSubmitted && !autoSubmitted.startsWith('no')) return 'auto-reply';
  if (headers.has('x-autoreply') || headers.has('x-autorespond')) return 'auto-reply';
  const suppress = headerText(headers.get('x-auto-response-suppress')).toLowerCase();
  if (/\b(all|autoreply|oof)\b/.test(suppress)) return 'auto-reply';
  if (OUT_OF_OFFICE_SUBJECT.test(subject)) return 'auto-reply';
  if (NO_REPLY_LOCAL_PART.test(mailFrom.split('@')[0] ?? '') || NO_REPLY_LOCAL_PART.test(author?.split('@')[0] ?? '')) return 'auto-reply';
  const precedence = headerText(headers.get('precedence')).trim().toLowerCase();
  if (['bulk', 'junk', 'list'].includes(precedence)) return 'bulk';
  if (LIST_HEADERS.some((name) => headers.has(name))) return 'bulk';
  return undefined;
}

/**
 * The verdicts speak for the From domain mailauth read; the letter names the address mailparser
 * read. Should the two parsers ever disagree on a crafted From header, the sender named is not the
 * one proved: unverified.
 */
function verdictsFor({ authentication, author }: { authentication: EmailAuthentication | undefined; author: string | undefined }): EmailAuthentication | undefined {
  if (!authentication || authentication.verdict !== 'verified') return authentication;
  return author?.split('@').pop() === authentication.domain ? authentication : { ...authentication, verdict: 'unverified' };
}

export function emailToLetter({
  parsed,
  raw,
  envelope,
  receivedAt,
  answerToken,
  authentication,
}: {
  parsed: ParsedMail;
  raw: Buffer;
  envelope: SmtpEnvelope;
  receivedAt: Date;
  answerToken?: string | undefined;
  /** SPF, DKIM and DMARC verdicts, when they were checked. */
  authentication?: EmailAuthentication | undefined;
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
    authentication: verdictsFor({ authentication, author: author?.address }),
    automated,
    language,
  };
}
