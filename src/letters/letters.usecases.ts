/**
 * Registering letters and what happens to them. `accept` is the heart of the gateway: it numbers
 * the letter, keeps its original and attachments, and queues every delivery it owes in one
 * transaction, so the channel may acknowledge (SMTP 250) as soon as it resolves.
 */
import type { Logger } from 'pino';
import type {
  Acceptance,
  Attachment,
  ChannelAddress,
  InboundLetter,
  LetterActionRequest,
  LetterSummary,
} from '../channels/port.js';
import { addTo } from '../collections.js';
import type { WaslConfig } from '../config/config.load.js';
import type { RegisterTx } from '../db/register-tx.js';
import type { UnitOfWork } from '../db/unit-of-work.js';
import { writeTogether } from '../db/write-together.js';
import type { SigningKey } from '../evidence/signing-key.js';
import { sha256Hex } from '../evidence/sha256.js';
import { buildStatement, chainEntry, signStatement } from '../evidence/statement.js';
import { WaslError } from '../errors.js';
import { checkedEvent, parseEvent, serializeEvent, type LetterEvent } from '../lifecycle/letter-events.js';
import { stateOf, transition } from '../lifecycle/letter-state.js';
import { refusalSentence } from '../lifecycle/lifecycle-text.js';
import type { AnswerTokens } from '../receipts/tokens.js';
import { createReceiptAllowance } from '../receipts/receipt-allowance.js';
import { newReceiptToken } from '../receipts/tokens.js';
import { authenticationEntryOf } from './sender-authenticity.js';
import { letterLanguage } from './language-detect.js';
import type { Router } from '../routing/routing.js';
import { formatNumber, yearIn, type Direction } from './letters.models.js';
import { createRegisterReader, type RegisterReader } from './letters.reader.js';
import * as repository from './letters.repository.js';
import type { DeliveryRow, LetterRow, NewDeliveryRow } from './letters.repository.js';

export interface Register extends RegisterReader {
  accept(letter: InboundLetter): Promise<Acceptance>;
  recordAction(input: ActionInput): Promise<LetterSummary>;
}

type ActionInput = { number: string; actor: ChannelAddress } & LetterActionRequest;

/** Takes deliveries that were stored already claimed, and sends them once `stored` (their commit on disk) resolves. */
export interface DeliveryHandOff {
  /**
   * Who claims the deliveries it takes now, and for how long a lease (from the registering
   * transaction's time); undefined while it is stopped: those stored then wait in the register, unclaimed.
   */
  taking(): { holder: string; leaseMs: number } | undefined;
  take(deliveries: readonly DeliveryRow[], stored: Promise<unknown>): void;
}

interface RegisterOptions {
  /** Where letters are registered: one `write` holds a letter, its events and its deliveries. Shared with the outbox. */
  database: UnitOfWork<RegisterTx>;
  config: WaslConfig;
  router: Router;
  answerTokens: AnswerTokens;
  now: () => Date;
  publicUrl: () => string;
  /** Channels that have a running adapter: forwards are queued only for those. */
  activeChannels: () => ReadonlySet<string>;
  /** Signs each registration statement (the receipt's evidence). */
  signingKey: SigningKey;
  /**
   * The outbox running in this process, if one does: the deliveries a commit queues are born
   * claimed and handed to it as soon as the commit is made, so sending them costs no claim; it may
   * prepare them while the disk flushes, and sends them once the commit is on disk. Without
   * one (the CLI), they wait in the register for the gateway's outbox to find them.
   */
  outbox?: DeliveryHandOff | undefined;
  logger: Logger;
}

type AnsweredLetter = { row: LetterRow; departments: readonly string[] };

/** A letter ready for the register: all that needs no register worked out before its turn. */
interface Candidate {
  letter: InboundLetter;
  classification: Classification;
  original: Uint8Array;
  originalSha256: string;
  files: (Attachment & { sha256: string })[];
  /** The language its receipt speaks: worked out before its turn, as it needs no register. */
  language: string;
}

type Registration = {
  duplicate: boolean;
  accepted: Pick<Acceptance, 'number' | 'receiptUrl' | 'departments' | 'answers'>;
  /** The deliveries to send now (born claimed). */
  queued: DeliveryRow[];
};

/** What the letter is, once its answer token and destinations are understood. */
type Classification =
  | { kind: 'incoming'; departments: string[] }
  | { kind: 'answer'; original: LetterRow }
  /** A machine-written reply to one of our forwards: kept for the mail office, never passed on (loop guard). */
  | { kind: 'set-aside'; departments: string[] };

export function createRegister(options: RegisterOptions): Register {
  const { database, config, router, answerTokens, now, logger } = options;

  const receiptAllowance = createReceiptAllowance({ perHour: config.receipts.perSenderPerHour });
  const reader = createRegisterReader({ database, publicUrl: options.publicUrl });
  const { summary, receiptUrl } = reader;

  /**
   * The incoming letter a valid answer token names, and for a machine-written reply (set aside
   * beside it) its departments; the register is read only for a letter that carries a token.
   */
  async function answeredLetter(letter: InboundLetter): Promise<AnsweredLetter | undefined> {
    const answeredId = letter.answerToken ? answerTokens.letterIdOf(letter.answerToken) : undefined;
    if (answeredId === undefined) return undefined;
    return database.read(async (tx) => {
      const row = await repository.letterById(tx, answeredId);
      if (row?.direction !== 'A') return undefined;
      return { row, departments: letter.automated ? await repository.departmentsOf(tx, row.id) : [] };
    });
  }

  function classify(letter: InboundLetter, answered: AnsweredLetter | undefined): Classification {
    if (letter.answerToken && !answered) {
      logger.info({ channel: letter.channel, phase: 'classify' }, 'answer token not valid: registering a new letter');
    }
    if (answered && !letter.automated) return { kind: 'answer', original: answered.row };

    const departments = new Set<string>();
    const unknown: string[] = [];
    for (const destination of letter.to) {
      const route = destination.includes('@') ? router.routeRecipient(destination) : undefined;
      if (route?.kind === 'answer') continue;
      const code = router.resolveDestination(destination);
      if (code) departments.add(code);
      else unknown.push(destination);
    }
    if (unknown.length > 0) {
      throw new WaslError('department.unknown', `no department is reached by ${unknown.join(', ')}`, { details: { destinations: unknown } });
    }
    if (answered) {
      for (const code of answered.departments) departments.add(code);
      return { kind: 'set-aside', departments: [...departments].sort() };
    }
    const fallback = config.routing.fallbackDepartment;
    if (departments.size === 0 && fallback) departments.add(fallback);
    if (departments.size === 0) {
      throw new WaslError('department.unknown', 'the letter names no department');
    }
    return { kind: 'incoming', departments: [...departments].sort() };
  }

  function forwardsFor({ letterId, codes, at }: { letterId: number; codes: readonly string[]; at: Date }): NewDeliveryRow[] {
    const active = options.activeChannels();
    const rows: NewDeliveryRow[] = [];
    for (const code of codes) {
      const department = router.department(code);
      if (!department) continue;
      for (const [channel, targets] of Object.entries(department.channels)) {
        if (!active.has(channel)) {
          logger.warn({ letter: letterId, channel, department: code }, 'channel is off: no forward queued on it');
          continue;
        }
        for (const targetId of targets) {
          rows.push(newDelivery({ letterId, kind: 'forward', target: { channel, id: targetId }, departmentCode: code, at }));
        }
      }
    }
    return rows;
  }

  /** Stores deliveries; those to send now are born claimed when an outbox takes them after the commit. */
  async function queueDeliveries(tx: RegisterTx, rows: NewDeliveryRow[], at: Date): Promise<DeliveryRow[]> {
    const claimant = options.outbox?.taking();
    if (!claimant) {
      await repository.insertDeliveries(tx, rows);
      return [];
    }
    const claim = { claimedBy: claimant.holder, leaseUntil: new Date(at.getTime() + claimant.leaseMs) };
    const born = rows.map((row): NewDeliveryRow => (row.status === 'pending' ? { ...row, status: 'sending', attempts: 1, ...claim } : row));
    return (await repository.insertDeliveries(tx, born)).filter((row) => row.status === 'sending');
  }

  function handOff(deliveries: DeliveryRow[], stored: Promise<unknown>): void {
    if (deliveries.length > 0) options.outbox?.take(deliveries, stored);
  }

  /** A letter this transaction registers, once dated and routed. */
  interface Arrival {
    candidate: Candidate;
    /** Letters registered before from the same message (other bytes), this transaction's included. */
    sameId: Earlier[];
    at: Date;
    year: number;
    direction: Direction;
    departments: string[];
  }
  /** A letter already in the register, or the letter at that index of those this transaction registers. */
  type Earlier = { row: LetterRow } | { arrival: number };

  const messageKey = ({ channel, senderId, externalId }: repository.ChannelMessageKey) => JSON.stringify([channel, senderId, externalId]);

  /**
   * Registers the letters that came together, in the order they came, in one transaction: each is
   * numbered and chained after the one before, exactly as if they had come one at a time, but each
   * table is read and written once for all of them (write-together.ts says why).
   */
  async function registerLetters(tx: RegisterTx, candidates: readonly Candidate[]): Promise<Registration[]> {
    // A message sent again is the letter it repeats. An email repeats one only byte for byte: a
    // server retrying sends the same bytes, while some mailers give other letters the same
    // Message-ID. A chat message is known by its platform's id alone (its original, built here,
    // carries the time it was received).
    const messages = candidates.map(({ letter }) => ({ channel: letter.channel, senderId: letter.from.id, externalId: letter.externalId }));
    const keys = messages.map(messageKey);
    const byMessage = new Map<string, Earlier[]>();
    for (const row of await repository.lettersByChannelMessages(tx, messages)) addTo(byMessage, messageKey(row), { row });

    const arrivals: Arrival[] = [];
    const outcomes: ({ repeats: Earlier } | { arrival: number })[] = [];
    for (const [index, candidate] of candidates.entries()) {
      const sameId = byMessage.get(keys[index]!) ?? [];
      const shaOf = (earlier: Earlier) => ('row' in earlier ? earlier.row : arrivals[earlier.arrival]!.candidate).originalSha256;
      const repeated = candidate.letter.raw ? sameId.find((earlier) => shaOf(earlier) === candidate.originalSha256) : sameId[0];
      if (repeated) {
        outcomes.push({ repeats: repeated });
        continue;
      }
      const at = now();
      const { classification } = candidate;
      const departments = classification.kind === 'answer' ? await repository.departmentsOf(tx, classification.original.id) : classification.departments;
      byMessage.set(keys[index]!, [...sameId, { arrival: arrivals.length }]);
      outcomes.push({ arrival: arrivals.length });
      arrivals.push({ candidate, sameId, at, year: yearIn({ date: at, timezone: config.timezone }), direction: classification.kind === 'answer' ? 'D' : 'A', departments });
    }

    const sequences = await takeSequences(tx, arrivals);
    await repository.storeBlobs(tx, arrivals.flatMap(({ candidate }) => [{ sha256: candidate.originalSha256, content: candidate.original }, ...candidate.files]));
    // Sealed on the chain and signed in the transaction that takes the number: transactions run
    // one after another, and the letters of one in order, so each entry chains to the one just before it.
    let previousEntryHash = arrivals.length > 0 ? await repository.lastEntryHash(tx) : null;
    const sealed = arrivals.map((arrival, index) => {
      const fields = sealedLetter({ ...arrival, sequence: sequences[index]! }, previousEntryHash);
      previousEntryHash = fields.entryHash;
      return fields;
    });
    const rows = await repository.insertLetters(tx, sealed);
    const rowOf = (earlier: Earlier) => ('row' in earlier ? earlier.row : rows[earlier.arrival]!);

    await repository.insertDepartmentRows(tx, arrivals.flatMap(({ departments }, index) => departments.map((departmentCode) => ({ letterId: rows[index]!.id, departmentCode }))));
    await repository.insertAttachments(
      tx,
      arrivals.flatMap(({ candidate }, index) =>
        candidate.files.map((file, position) => ({ letterId: rows[index]!.id, position, sha256: file.sha256, filename: file.filename ?? null, contentType: file.contentType, size: file.content.byteLength })),
      ),
    );
    await repository.appendEvents(tx, arrivals.flatMap((arrival, index) => eventsOfRegistration({ ...arrival, row: rows[index]!, earlierNumbers: arrival.sameId.map((earlier) => rowOf(earlier).number) })));
    for (const { candidate } of arrivals) {
      if (candidate.classification.kind === 'answer') await repository.setStatus(tx, { letterId: candidate.classification.original.id, status: 'answered' });
    }
    const queued = await queueDeliveriesOf(tx, arrivals.map((arrival, index) => ({ ...arrival, row: rows[index]! })));

    const registrations: Registration[] = [];
    for (const outcome of outcomes) {
      if ('repeats' in outcome) {
        registrations.push({ duplicate: true, accepted: await summary(tx, rowOf(outcome.repeats)), queued: [] });
        continue;
      }
      const row = rows[outcome.arrival]!;
      const { candidate, departments } = arrivals[outcome.arrival]!;
      const answers = candidate.classification.kind === 'answer' ? candidate.classification.original.number : undefined;
      registrations.push({ duplicate: false, accepted: { number: row.number, receiptUrl: receiptUrl(row.receiptToken), departments, answers }, queued: queued.get(row.id) ?? [] });
    }
    return registrations;
  }

  /** The sequence of each arrival, in their order: one counter update per year and direction. */
  async function takeSequences(tx: RegisterTx, arrivals: readonly Arrival[]): Promise<number[]> {
    const groups = new Map<string, number[]>();
    arrivals.forEach(({ year, direction }, index) => addTo(groups, `${year}${direction}`, index));
    const sequences: number[] = [];
    for (const indexes of groups.values()) {
      const { year, direction } = arrivals[indexes[0]!]!;
      const last = await repository.takeSequences(tx, { year, direction, count: indexes.length });
      indexes.forEach((arrival, order) => (sequences[arrival] = last - indexes.length + 1 + order));
    }
    return sequences;
  }

  /** The letter's row: its facts, sealed as the register entry after `previousEntryHash`, and signed. */
  function sealedLetter(
    { candidate, at, year, direction, departments, sequence }: Arrival & { sequence: number },
    previousEntryHash: string | null,
  ): Omit<LetterRow, 'id'> {
    const { letter: inbound, classification, original, originalSha256, files } = candidate;
    const number = formatNumber({ format: config.numbering.format, year, direction, sequence });
    const receiptToken = newReceiptToken();
    const entry = chainEntry({
      facts: {
        number,
        registeredAt: at,
        channel: inbound.channel,
        sender: { id: inbound.from.id, name: inbound.from.displayName ?? null, authentication: authenticationEntryOf(inbound.authentication) },
        departments,
        subject: inbound.subject ?? null,
        original: { sha256: originalSha256, size: original.byteLength },
        attachments: files.map((file) => ({ sha256: file.sha256, size: file.content.byteLength, contentType: file.contentType, filename: file.filename ?? null })),
        inAnswerTo: classification.kind === 'answer' ? classification.original.number : null,
      },
      previousEntryHash,
    });
    const signed = signStatement({
      statement: buildStatement({ entry, office: { domain: config.mail.domain, name: config.mail.officeName }, keyId: options.signingKey.keyId, receiptUrl: receiptUrl(receiptToken) }),
      key: options.signingKey,
    });
    const replyTo = inbound.replyTo;
    return {
      number,
      year,
      direction,
      sequence,
      channel: inbound.channel,
      externalId: inbound.externalId,
      senderId: inbound.from.id,
      senderName: inbound.from.displayName ?? null,
      replyChannel: replyTo?.channel ?? null,
      replyId: replyTo?.id ?? null,
      replyThread: replyTo?.thread ?? null,
      subject: inbound.subject ?? null,
      bodyText: inbound.text,
      bodyHtml: inbound.html ?? null,
      originalSha256,
      originalSize: original.byteLength,
      receivedAt: inbound.receivedAt,
      registeredAt: at,
      status: 'registered',
      receiptToken,
      language: candidate.language,
      automated: inbound.automated ?? null,
      answersLetterId: classification.kind === 'answer' ? classification.original.id : null,
      authentication: inbound.authentication ? JSON.stringify(inbound.authentication) : null,
      previousEntryHash: entry.previousEntryHash,
      entryHash: entry.entryHash,
      entryVersion: entry.version,
      statement: signed.canonicalStatement,
      signature: signed.signature.value,
    };
  }

  function eventsOfRegistration({ row, at, candidate, earlierNumbers }: Arrival & { row: LetterRow; earlierNumbers: string[] }): repository.NewLetterEvent[] {
    const { letter, classification } = candidate;
    const events: repository.NewLetterEvent[] = [{ letterId: row.id, type: 'registered', at, actor: letter.from }];
    // For the mail office: why two letters carry one Message-ID.
    if (earlierNumbers.length > 0) events.push({ letterId: row.id, type: 'message_id_reused', at, detail: { earlier: earlierNumbers } });
    if (classification.kind === 'answer') events.push({ letterId: classification.original.id, type: 'answered', at, actor: letter.from, detail: { answer: row.number } });
    // Held for the mail office: in the register and visible, but neither forwarded nor receipted.
    else if (classification.kind === 'incoming' && letter.quarantined) events.push({ letterId: row.id, type: 'quarantined', at });
    return events;
  }

  /** Queues what each new letter owes (an answer's delivery, or forwards and a receipt); returns, by letter id, those to send now. */
  async function queueDeliveriesOf(tx: RegisterTx, letters: readonly (Arrival & { row: LetterRow })[]): Promise<Map<number, DeliveryRow[]>> {
    const owed = letters.map(({ row, at, departments, candidate: { letter, classification } }) => {
      const rows: NewDeliveryRow[] = [];
      let receiptTo: ChannelAddress | undefined;
      if (classification.kind === 'answer') {
        const { original: answered } = classification;
        if (answered.replyChannel && answered.replyId) {
          rows.push(newDelivery({ letterId: row.id, kind: 'answer', target: { channel: answered.replyChannel, id: answered.replyId, thread: answered.replyThread ?? undefined }, at }));
        }
      } else if (classification.kind === 'incoming' && !letter.quarantined) {
        rows.push(...forwardsFor({ letterId: row.id, codes: departments, at }));
        if (letter.replyTo && !letter.automated && !letter.receiptInline) receiptTo = letter.replyTo;
      }
      return { rows, receiptTo, letterId: row.id, at };
    });
    const asked = owed.filter((letter) => letter.receiptTo);
    const allowed = await receiptAllowance.take(tx, asked.map(({ receiptTo, at }) => ({ place: receiptTo!, at })));
    asked.forEach(({ rows, receiptTo, letterId, at }, index) => {
      const row = newDelivery({ letterId, kind: 'receipt', target: receiptTo!, at });
      // The cap holds whatever the headers say: a sender we answer too often may be an auto-responder.
      rows.push(allowed[index] ? row : { ...row, status: 'suppressed', lastErrorCode: 'receipt.rate_limited', lastError: `more than ${config.receipts.perSenderPerHour} receipts an hour to this sender` });
    });
    const byLetter = new Map<number, DeliveryRow[]>();
    for (const delivery of await queueDeliveries(tx, owed.flatMap(({ rows }) => rows), letters[0]?.at ?? now())) addTo(byLetter, delivery.letterId, delivery);
    return byLetter;
  }

  const register = writeTogether(database, registerLetters);

  async function accept(letter: InboundLetter): Promise<Acceptance> {
    const classification = classify(letter, await answeredLetter(letter));
    const original = letter.raw ?? Buffer.from(JSON.stringify(canonicalChatOriginal(letter)), 'utf8');
    const files = letter.attachments.map((attachment) => ({ ...attachment, sha256: sha256Hex(attachment.content) }));

    /** Set once the letter is committed: if the flush then fails, the letter is in the register all the same. */
    let committedAs: string | undefined;
    const language = letterLanguage({ declared: letter.language, subject: letter.subject, text: letter.text, fallback: config.language });
    const stored: Promise<Registration> = register({ letter, classification, original, originalSha256: sha256Hex(original), files, language }, ({ accepted, queued }) => {
      committedAs = accepted.number;
      handOff(queued, stored);
    });

    const result = await stored.catch((error: unknown) => {
      // Committed, so the sender should hear its number rather than "nothing was stored": an email
      // sent again is a duplicate of it, but a chat command sent again would be a second letter.
      if (committedAs === undefined) throw error;
      throw new WaslError('register.not_confirmed', `${committedAs} is in the register, but the disk did not confirm it`, {
        temporary: true,
        cause: error,
        details: { number: committedAs },
      });
    });
    const { number, receiptUrl: url, departments, answers } = result.accepted;
    return { number, receiptUrl: url, duplicate: result.duplicate, departments, answers };
  }

  async function recordAction(input: ActionInput): Promise<LetterSummary> {
    const { number, actor } = input;
    const event = eventOf(input);
    const stored = database.write(async (tx) => {
      const letter = await repository.letterByNumber(tx, number);
      if (!letter) throw new WaslError('letter.unknown', `no letter has the number ${number}`);
      // Read and judged inside the write that records the step: two presses at once are decided one after the other.
      const letterOrigin = { departments: await repository.departmentsOf(tx, letter.id, { registeredOnly: true }) };
      const history = (await repository.eventsOf(tx, letter.id)).map(parseEvent);
      const step = transition(stateOf(history, letterOrigin), event, letterOrigin);
      if (!step.allowed) {
        const details = { number: letter.number, ...step.refusal.params };
        throw new WaslError(step.refusal.code, refusalSentence({ language: 'en', code: step.refusal.code, values: details }), { details });
      }
      const at = now();
      await repository.appendEvent(tx, { letterId: letter.id, at, actor, ...serializeEvent(event) });
      await repository.setStatus(tx, { letterId: letter.id, status: step.state.status });
      let forwards: DeliveryRow[] = [];
      if (event.type === 'transferred') {
        await repository.insertDepartments(tx, { letterId: letter.id, codes: [event.department], via: 'transfer' });
        forwards = await queueDeliveries(tx, forwardsFor({ letterId: letter.id, codes: [event.department], at }), at);
      }
      return { summary: await summary(tx, (await repository.letterById(tx, letter.id))!), queued: forwards };
    }, { committed: ({ queued }) => handOff(queued, stored) });
    return (await stored).summary;
  }

  /** The event a request records, its texts checked and its department known, before the register is touched. */
  function eventOf(request: LetterActionRequest): LetterEvent {
    switch (request.action) {
      case 'transferred': {
        const target = request.toDepartment ? router.department(request.toDepartment) : undefined;
        if (!target) throw new WaslError('department.unknown', `no department has the code ${request.toDepartment ?? '(none)'}`);
        return checkedEvent({ type: 'transferred', department: target.code, reason: request.reason ?? null });
      }
      case 'acknowledged':
        return checkedEvent({ type: 'acknowledged' });
      case 'assigned':
        return checkedEvent({ type: 'assigned', assignee: request.assignee });
      case 'note_added':
        return checkedEvent({ type: 'note_added', text: request.text });
      case 'deadline_extended':
        return checkedEvent({ type: 'deadline_extended', dueDate: request.dueDate, reason: request.reason });
      case 'closed':
        return checkedEvent({ type: 'closed', outcome: request.outcome });
      case 'reopened':
        return checkedEvent({ type: 'reopened', reason: request.reason });
    }
  }

  return { ...reader, accept, recordAction };
}

export function newDelivery({
  letterId,
  kind,
  target,
  departmentCode,
  at,
}: {
  letterId: number;
  kind: NewDeliveryRow['kind'];
  target: ChannelAddress;
  departmentCode?: string | undefined;
  at: Date;
}): NewDeliveryRow {
  return {
    letterId,
    kind,
    channel: target.channel,
    targetId: target.id,
    targetThread: target.thread ?? null,
    targetName: target.displayName ?? null,
    departmentCode: departmentCode ?? null,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: at,
    lastErrorCode: null,
    lastError: null,
    externalId: null,
    claimedBy: null,
    leaseUntil: null,
    createdAt: at,
    updatedAt: at,
  };
}

/** A chat message has no bytes of its own: its original is this fixed JSON form of what was received. */
function canonicalChatOriginal(letter: InboundLetter) {
  return {
    channel: letter.channel,
    externalId: letter.externalId,
    receivedAt: letter.receivedAt.toISOString(),
    from: { id: letter.from.id, displayName: letter.from.displayName ?? null },
    to: letter.to,
    subject: letter.subject ?? null,
    text: letter.text,
    attachments: letter.attachments.map((attachment) => ({
      filename: attachment.filename ?? null,
      contentType: attachment.contentType,
      sha256: sha256Hex(attachment.content),
    })),
  };
}

