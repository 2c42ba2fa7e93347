/**
 * What a receipt says about a letter: the facts for `/r/{token}.json` (language-neutral: codes and
 * ISO times) and their readable form for the page. The history names departments, never people or
 * internal accounts: the receipt is public to whoever holds the link.
 */
import type { SenderAuthentication } from '../channels/port.js';
import type { Language } from '../config/config.schema.js';
import type { WaslConfig } from '../config/config.load.js';
import type { RegisterTx } from '../db/register-tx.js';
import { displayFilename } from '../letters/attachment-names.js';
import { formatDateTime } from '../letters/letters.models.js';
import * as repository from '../letters/letters.repository.js';
import type { LetterRow } from '../letters/letters.repository.js';
import { readSenderAuthentication, senderView } from '../letters/sender-authenticity.js';
import type { Router } from '../routing/routing.js';
import { DISPLAY_LENGTH, forDisplay } from '../templates/display-text.js';
import type { Strings } from '../templates/templates.js';

export interface ReceiptFacts {
  number: string;
  direction: 'incoming' | 'outgoing';
  registeredAt: string;
  receivedAt: string;
  channel: string;
  sender: { id: string; name: string | null };
  subject: string | null;
  departments: { code: string; names: Record<string, string> }[];
  status: string;
  original: { sha256: string; size: number };
  attachments: { filename: string | null; contentType: string; size: number; sha256: string }[];
  history: { type: string; at: string; department: string | null }[];
  answers: string | null;
  answeredBy: string[];
  /** What the channel proved about the sender (`verdict`: verified, unverified or platform); null when it checked nothing. */
  authentication: SenderAuthentication | null;
}

/** Events a receipt shows; internal bookkeeping (delivery failures) stays for the mail office. */
const PUBLIC_EVENTS = new Set(['registered', 'forwarded', 'acknowledged', 'transferred', 'answered', 'closed', 'receipt_sent', 'receipt_undeliverable', 'answer_delivered']);

/** Read in one transaction, so the history and the status agree. */
export async function receiptFacts({ tx, router, letter }: { tx: RegisterTx; router: Router; letter: LetterRow }): Promise<ReceiptFacts> {
  const answered = letter.answersLetterId === null ? undefined : await repository.letterById(tx, letter.answersLetterId);
  return {
    number: letter.number,
    direction: letter.direction === 'A' ? 'incoming' : 'outgoing',
    registeredAt: letter.registeredAt.toISOString(),
    receivedAt: letter.receivedAt.toISOString(),
    channel: letter.channel,
    sender: { id: letter.senderId, name: letter.senderName },
    subject: letter.subject,
    departments: (await repository.departmentsOf(tx, letter.id)).map((code) => ({ code, names: router.department(code)?.names ?? { ar: code, fr: code, en: code } })),
    status: letter.status,
    original: { sha256: letter.originalSha256, size: letter.originalSize },
    attachments: (await repository.attachmentsOf(tx, letter.id)).map((row) => ({ filename: row.filename, contentType: row.contentType, size: row.size, sha256: row.sha256 })),
    history: (await repository.eventsOf(tx, letter.id))
      .filter((event) => PUBLIC_EVENTS.has(event.type))
      .map((event) => ({ type: event.type, at: event.at.toISOString(), department: event.departmentCode })),
    answers: answered?.number ?? null,
    answeredBy: (await repository.answersTo(tx, letter.id)).map((row) => row.number),
    authentication: readSenderAuthentication(letter.authentication) ?? null,
  };
}

/** The facts in words of one language, for the receipt page. */
export function receiptPageView({ facts, strings, language, config }: { facts: ReceiptFacts; strings: Strings; language: Language; config: WaslConfig }) {
  const words = strings as Record<string, Record<string, string>>;
  const when = (iso: string) => formatDateTime({ date: new Date(iso), timezone: config.timezone, language });
  // What the sender chose is shown bounded; the JSON receipt gives it whole (display-text.ts).
  const nameOf = (department: ReceiptFacts['departments'][number]) => forDisplay(department.names[language] ?? department.code, DISPLAY_LENGTH.name);
  const departmentName = (code: string | null) => {
    const department = facts.departments.find((candidate) => candidate.code === code);
    return department ? nameOf(department) : (code ?? '');
  };
  const senderId = forDisplay(facts.sender.id, DISPLAY_LENGTH.address);
  return {
    office: config.mail.officeName[language],
    number: facts.number,
    registeredAt: when(facts.registeredAt),
    channelName: words.channelName?.[facts.channel] ?? facts.channel,
    ...senderView({ id: senderId, name: facts.sender.name === null ? null : forDisplay(facts.sender.name, DISPLAY_LENGTH.name), authentication: facts.authentication ?? undefined }),
    senderCheck: words.senderCheck?.[facts.authentication?.verdict ?? 'unverified'],
    subject: facts.subject === null ? words.receipt?.noSubject : forDisplay(facts.subject, DISPLAY_LENGTH.subject),
    departments: facts.departments.map(nameOf).join(', '),
    statusLabel: words.status?.[facts.status] ?? facts.status,
    sha256: facts.original.sha256,
    attachments: facts.attachments.map((attachment, position) => ({ ...attachment, filename: displayFilename({ filename: attachment.filename ?? undefined, position }) })),
    history: facts.history.map((event) => ({ at: when(event.at), label: words.event?.[event.type] ?? event.type, department: departmentName(event.department) })),
    answers: facts.answers,
    answeredBy: facts.answeredBy,
  };
}
