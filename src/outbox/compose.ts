/**
 * Turns a queued delivery into the channel-neutral message an adapter sends: texts from
 * templates/ in the reader's language, the letter's facts, its attachments.
 */
import type { Attachment, LetterSummary, OutboundMessage } from '../channels/port.js';
import type { Language } from '../config/config.schema.js';
import type { WaslConfig } from '../config/config.load.js';
import type { RegisterTx } from '../db/register-tx.js';
import type { UnitOfWork } from '../db/unit-of-work.js';
import { WaslError } from '../errors.js';
import { displayFilename } from '../letters/attachment-names.js';
import { formatDateTime } from '../letters/letters.models.js';
import * as letterRepository from '../letters/letters.repository.js';
import type { DeliveryRow, LetterRow } from '../letters/letters.repository.js';
import type { Register } from '../letters/letters.usecases.js';
import { readSenderAuthentication, senderLine, senderView } from '../letters/sender-authenticity.js';
import type { AnswerTokens } from '../receipts/tokens.js';
import type { Router } from '../routing/routing.js';
import { isLanguage, type Templates } from '../templates/templates.js';

export interface Composer {
  compose(delivery: DeliveryRow): Promise<OutboundMessage>;
}

export function createComposer({
  database,
  config,
  templates,
  router,
  register,
  answerTokens,
  now,
}: {
  database: Pick<UnitOfWork<RegisterTx>, 'read'>;
  config: WaslConfig;
  templates: Templates;
  router: Router;
  register: Register;
  answerTokens: AnswerTokens;
  now: () => Date;
}): Composer {
  const languageOf = (letter: LetterRow): Language => (isLanguage(letter.language) ? letter.language : config.language);
  const when = (date: Date, language: Language) => formatDateTime({ date, timezone: config.timezone, language });
  const departmentNames = (codes: readonly string[], language: Language) =>
    codes.map((code) => router.department(code)?.names[language] ?? code).join(', ');

  const attachmentsOf = (letter: LetterRow): Promise<Attachment[]> =>
    database.read(async (tx) => {
      const files: Attachment[] = [];
      for (const row of await letterRepository.attachmentsOf(tx, letter.id)) {
        const content = await letterRepository.readBlob(tx, row.sha256);
        if (!content) throw new WaslError('register.blob_missing', `attachment ${row.sha256} of ${letter.number} is missing`);
        files.push({ filename: displayFilename({ filename: row.filename ?? undefined, position: row.position }), contentType: row.contentType, content });
      }
      return files;
    });

  const subjectOf = (letter: LetterRow, language: Language) => letter.subject ?? (templates.strings(language).receipt as Record<string, string>).noSubject!;

  /** `summary` is the letter as the register sums it up: its departments are read once per message. */
  function commonView(letter: LetterRow, summary: LetterSummary, language: Language) {
    const subject = subjectOf(letter, language);
    return {
      office: config.mail.officeName[language],
      number: letter.number,
      subject,
      registeredAt: when(letter.registeredAt, language),
      departments: departmentNames(summary.departments, language),
      receiptUrl: register.receiptUrl(letter.receiptToken),
      senderName: letter.senderName ?? letter.senderId,
      senderAddress: letter.senderId,
      ...senderView({ id: letter.senderId, name: letter.senderName, authentication: readSenderAuthentication(letter.authentication) }),
      channel: letter.channel,
      body: letter.bodyText,
    };
  }

  /**
   * Letters read in this turn of the event loop. A letter's forward and receipt are composed in the
   * same turn, and the register is written only in later turns (the group commit), so the second
   * message reuses the first one's reads instead of repeating them.
   */
  const readThisTurn = new Map<number, Promise<{ letter: LetterRow; summary: LetterSummary }>>();

  function letterOf(delivery: DeliveryRow): Promise<{ letter: LetterRow; summary: LetterSummary }> {
    let read = readThisTurn.get(delivery.letterId);
    if (!read) {
      read = database.read(async (tx) => {
        const letter = await letterRepository.letterById(tx, delivery.letterId);
        if (!letter) throw new WaslError('register.letter_missing', `delivery ${delivery.id} names no letter`);
        return { letter, summary: await register.summary(tx, letter) };
      });
      if (readThisTurn.size === 0) queueMicrotask(() => readThisTurn.clear());
      readThisTurn.set(delivery.letterId, read);
    }
    return read;
  }

  async function compose(delivery: DeliveryRow): Promise<OutboundMessage> {
    const { letter, summary } = await letterOf(delivery);
    const to = { channel: delivery.channel, id: delivery.targetId, thread: delivery.targetThread ?? undefined, displayName: delivery.targetName ?? undefined };
    const base = { deliveryId: delivery.id, kind: delivery.kind, to, letter: summary, attempt: delivery.attempts };

    if (delivery.kind === 'forward') {
      const language = config.language;
      const files = await attachmentsOf(letter);
      const rendered = templates.mail({ name: 'forward-mail', language, view: { ...commonView(letter, base.letter, language), attachmentCount: files.length } });
      return {
        ...base,
        ...rendered,
        attachments: files,
        department: delivery.departmentCode ? router.department(delivery.departmentCode) : undefined,
        answerToken: answerTokens.tokenFor(letter.id),
      };
    }

    const { answersLetterId } = letter;
    const answered = answersLetterId === null ? undefined : await database.read((tx) => letterRepository.letterById(tx, answersLetterId));
    if (delivery.kind === 'answer') {
      if (!answered) throw new WaslError('register.letter_missing', `answer ${letter.number} answers no letter`);
      const language = languageOf(answered);
      const rendered = templates.mail({
        name: 'answer-mail',
        language,
        view: { ...commonView(letter, base.letter, language), originalNumber: answered.number, originalSubject: subjectOf(answered, language) },
      });
      return { ...base, ...rendered, attachments: await attachmentsOf(letter), inReplyTo: sameChannel(answered, to.channel) };
    }

    const language = languageOf(answered ?? letter);
    if (answered) {
      // The receipt of an answer goes to whoever answered, once the answer has reached the sender.
      const rendered = templates.mail({
        name: 'answer-sent-mail',
        language,
        view: {
          ...commonView(letter, base.letter, language),
          originalNumber: answered.number,
          originalSubject: subjectOf(answered, language),
          recipient: senderLine({ id: answered.senderId, name: answered.senderName }),
          deliveredAt: when(now(), language),
        },
      });
      return { ...base, ...rendered, attachments: [], inReplyTo: sameChannel(letter, to.channel) };
    }
    const languages = config.receipts.mailLanguages.length > 0 ? config.receipts.mailLanguages : [language];
    const versions = languages.map((each) => templates.mail({ name: 'receipt-mail', language: each, view: commonView(letter, base.letter, each) }));
    return {
      ...base,
      subject: versions.map((version) => version.subject).join(' / '),
      text: versions.map((version) => version.text.trimEnd()).join(`\n\n${'='.repeat(60)}\n\n`) + '\n',
      attachments: [],
      inReplyTo: sameChannel(letter, to.channel),
    };
  }

  return { compose };
}

/** A channel message id means something only on its own channel (an email Message-ID for an email reply). */
function sameChannel(letter: LetterRow, channel: string): string | undefined {
  return letter.channel === channel ? letter.externalId : undefined;
}
