/**
 * wasl messages to Matrix event contents, without I/O: the notices the bot posts (forwards,
 * receipts, answers, its answers to commands), file events, thread relations; the bot's words are
 * in templates/matrix.<language>.yaml. Everything the bot posts is an `m.notice`, the message type
 * for automated messages (spec: "m.notice"), so other bots do not answer it and no loop starts.
 */
import type { Language } from '../../src/config/config.schema.js';
import { LETTER_STATUSES, type Attachment, type DepartmentView, type LetterStatus, type LetterSummary, type OutboundMessage } from '../../src/channels/port.js';
import { loadPhrases } from '../../src/templates/phrases.js';

export type Content = Record<string, unknown>;

/**
 * A thread reply (spec: "Threading"). `is_falling_back` with `m.in_reply_to` lets clients without
 * thread support show it as a reply to the root.
 */
export function threadRelation(rootEventId: string): Content {
  return { rel_type: 'm.thread', event_id: rootEventId, is_falling_back: true, 'm.in_reply_to': { event_id: rootEventId } };
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

export function noticeContent({ text, heading, thread }: { text: string; heading?: string | undefined; thread?: string | undefined }): Content {
  const content: Content = { msgtype: 'm.notice', body: heading ? `${heading}\n\n${text}` : text };
  if (heading) {
    content.format = 'org.matrix.custom.html';
    content.formatted_body = `<strong>${escapeHtml(heading)}</strong><br><br>${escapeHtml(text).replace(/\r?\n/g, '<br>')}`;
  }
  if (thread) content['m.relates_to'] = threadRelation(thread);
  return content;
}

export function fileContent({ attachment, mxc, thread }: { attachment: Attachment; mxc: string; thread: string }): Content {
  const filename = attachment.filename ?? 'file';
  return {
    msgtype: attachment.contentType.startsWith('image/') ? 'm.image' : 'm.file',
    body: filename,
    filename,
    url: mxc,
    info: { mimetype: attachment.contentType, size: attachment.content.byteLength },
    'm.relates_to': threadRelation(thread),
  };
}

/**
 * Transaction ids stable across the outbox's attempts: the homeserver answers a repeated PUT with
 * the event it already created (spec: "Transaction identifiers"), so a retry after a lost reply
 * never posts twice.
 */
export function transactionId({ deliveryId, part }: { deliveryId: number; part: 'message' | number }): string {
  return part === 'message' ? `wasl-d${deliveryId}` : `wasl-d${deliveryId}-f${part}`;
}

export function replyTransactionId(eventId: string): string {
  return `wasl-r${eventId}`;
}

/** The notice that a letter waits for the register: a transaction of its own, so the final answer still posts. */
export function waitingTransactionId(eventId: string): string {
  return `wasl-w${eventId}`;
}

const PHRASE_KEYS = ['answerHint', 'help', 'departments', 'unknownDepartment', 'empty', 'tooLarge', 'refused', 'registerAway', 'unknownLetter', 'encrypted', 'status', 'subject', 'receipt', 'labelled'] as const;
type PhraseKey = (typeof PHRASE_KEYS)[number] | `statuses.${LetterStatus}`;

/** The bot's sentences, from templates/matrix.<language>.yaml. */
const phrases = loadPhrases<PhraseKey>({ name: 'matrix', keys: [...PHRASE_KEYS, ...LETTER_STATUSES.map((status) => `statuses.${status}` as const)] });

function say(language: Language, key: PhraseKey, values?: Record<string, string>): string {
  return phrases.say({ language, key, values });
}

export function botLanguage(language: string): Language {
  return language === 'ar' || language === 'en' ? language : 'fr';
}

/** The notice for a forward, a receipt or an answer; the forward tells the department how to answer. */
export function outboundNotice({ message, language }: { message: OutboundMessage; language: Language }): Content {
  const forward = message.kind === 'forward';
  const text = forward ? `${message.text.trimEnd()}\n\n${say(language, 'answerHint')}` : message.text.trimEnd();
  return noticeContent({ heading: message.subject, text, thread: forward ? undefined : message.to.thread });
}

/** "Label: value", as each language writes it (French puts a space before the colon). */
function labelled({ label, value, language }: { label: string; value: string; language: Language }): string {
  return say(language, 'labelled', { label, value });
}

function departmentList({ departments, language }: { departments: readonly DepartmentView[]; language: Language }): string {
  const names = departments.map((department) => `${department.code} (${department.names[language] ?? department.code})`);
  return labelled({ label: say(language, 'departments'), value: names.join(', '), language });
}

export function helpText({ prefix, departments, language }: { prefix: string; departments: readonly DepartmentView[]; language: Language }): string {
  return `${say(language, 'help', { prefix })}\n${departmentList({ departments, language })}`;
}

export function encryptedRoomText(language: Language): string {
  return say(language, 'encrypted');
}

export function registerAwayText(language: Language): string {
  return say(language, 'registerAway');
}

export type Refusal =
  | { reason: 'unknown-department'; department: string }
  | { reason: 'empty' }
  | { reason: 'too-large'; limitBytes: number }
  | { reason: 'other'; code: string };

export function refusalText({ refusal, departments, language }: { refusal: Refusal; departments: readonly DepartmentView[]; language: Language }): string {
  switch (refusal.reason) {
    case 'unknown-department':
      return `${say(language, 'unknownDepartment', { department: refusal.department })}\n${departmentList({ departments, language })}`;
    case 'empty':
      return say(language, 'empty');
    case 'too-large':
      return say(language, 'tooLarge', { limit: `${Math.floor(refusal.limitBytes / (1024 * 1024))} MB` });
    case 'other':
      return say(language, 'refused', { code: refusal.code });
  }
}

/**
 * Where a letter stands. Anyone may ask by number, but only the letter's own sender sees its
 * subject and receipt link: the number is guessable, the receipt link is a secret.
 */
export function statusText({
  number,
  letter,
  askedBy,
  language,
  timezone,
}: {
  number: string;
  letter: LetterSummary | undefined;
  askedBy: string;
  language: Language;
  timezone: string;
}): string {
  if (!letter) return say(language, 'unknownLetter', { number });
  const date = new Intl.DateTimeFormat(language === 'ar' ? 'ar-MA' : language, { dateStyle: 'long', timeStyle: 'short', timeZone: timezone }).format(letter.registeredAt);
  const status = say(language, `statuses.${letter.status}`);
  const lines = [say(language, 'status', { number: letter.number, status, departments: letter.departments.join(', '), date })];
  if (letter.channel === 'matrix' && letter.sender.id === askedBy) {
    if (letter.subject) lines.push(labelled({ label: say(language, 'subject'), value: letter.subject, language }));
    lines.push(labelled({ label: say(language, 'receipt'), value: letter.receiptUrl, language }));
  }
  return lines.join('\n');
}
