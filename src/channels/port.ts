/**
 * The contract between the core and the channel adapters (email, Slack, Matrix).
 *
 * Adapters translate; the core decides. An adapter turns its channel's native events into one
 * channel-neutral `InboundLetter` and hands it to `GatewayPort.accept`, which resolves only after
 * the letter is durably committed; then the adapter answers on its channel. In the other
 * direction the outbox worker hands each `OutboundMessage` to the target channel's adapter.
 * Numbering, routing, templates, audit and retry policy stay in the core.
 */
import type { z } from 'zod';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { CloseOutcome } from '../lifecycle/letter-events.js';

export type ChannelName = string;

/** A person, a mailbox, a chat room or a thread, in one channel's own terms. */
export interface ChannelAddress {
  channel: ChannelName;
  /** Email address, Slack user or conversation id, Matrix user or room id. */
  id: string;
  /** A thread on that channel: Slack thread ts, Matrix thread-root event id. */
  thread?: string | undefined;
  displayName?: string | undefined;
}

export interface Attachment {
  /** The name the sender gave; informational only, never used as a path. */
  filename: string | undefined;
  contentType: string;
  content: Uint8Array;
}

/** Why the channel says a message was written by a machine (RFC 3834 and friends). */
export type AutomatedKind = 'auto-reply' | 'bulk' | 'bounce' | 'report';

export interface InboundLetter {
  channel: ChannelName;
  /** The channel's own id of the message: Message-ID, Slack event id, Matrix event id. */
  externalId: string;
  receivedAt: Date;
  /** Who wrote it, as the channel shows them (email: the From header). */
  from: ChannelAddress;
  /**
   * Where receipts and answers go (email: the envelope sender, RFC 3834 §4). Absent for a null
   * sender: such a letter is registered but never answered.
   */
  replyTo: ChannelAddress | undefined;
  /** Destinations as the sender wrote them: department codes or addresses; the core routes them. */
  to: string[];
  subject: string | undefined;
  text: string;
  html?: string | undefined;
  attachments: Attachment[];
  /** The channel id of the message this one replies to (informational). */
  inReplyTo?: string | undefined;
  /**
   * The secret token that binds an answer to the letter it answers (from a reply address or a
   * thread link). The core checks it; an invalid one makes this a new letter.
   */
  answerToken?: string | undefined;
  /** The original bytes, kept byte for byte, where the channel has them. */
  raw?: Uint8Array | undefined;
  /**
   * What the channel could verify about the sender (email: SPF, DKIM, DMARC; chat: the platform's
   * login). Absent: nothing was checked, and the sender is shown as not verified.
   */
  authentication?: SenderAuthentication | undefined;
  /** Set when the channel's policy holds the letter for the mail office: registered, never forwarded. */
  quarantined?: boolean | undefined;
  /** Set when the channel's own markers say a machine wrote this: no receipt is ever sent. */
  automated?: AutomatedKind | undefined;
  /** Preferred language of the sender when the channel tells (Content-Language, Slack locale). */
  language?: string | undefined;
  /**
   * The adapter answers the sender itself right after `accept` (e.g. a Slack ephemeral reply),
   * so the core queues no receipt delivery for this letter.
   */
  receiptInline?: boolean | undefined;
}

/**
 * What the channel could prove about who wrote a letter: kept on the letter, sealed in its register
 * entry and signed in its receipt, and shown wherever the sender is named, so that a name nobody
 * checked is never presented as known.
 */
export type SenderAuthentication = EmailAuthentication | PlatformAuthentication;

/** Email: SPF (RFC 7208), DKIM (RFC 6376) and DMARC (RFC 7489) results for the letter. */
export interface EmailAuthentication {
  /**
   * `verified` when the From address's domain is proved: DMARC passed, or a DKIM signature of that
   * domain or an SPF pass for it holds. Anything else (fail, none, temperror) is `unverified`.
   */
  verdict: 'verified' | 'unverified';
  /** The domain of the From address, the one the verdict speaks for. */
  domain: string | null;
  /** pass, fail, softfail, neutral, none, temperror or permerror. */
  spf: string;
  /** The domain SPF checked: the envelope sender's (or the HELO name's for a null sender). */
  spfDomain: string | null;
  /** The best result over the DKIM signatures ('none' without any): one pass is enough. */
  dkim: string;
  dkimSignatures: { domain: string | null; result: string }[];
  dmarc: string;
  /** The policy the From domain publishes (p=, or sp= for a subdomain), when it publishes one. */
  dmarcPolicy: string | null;
  /** One line, as an Authentication-Results header gives it (for people; not signed). */
  summary?: string | undefined;
}

/** Chat: the platform logged the account in; the letter is from that account, whatever its name. */
export interface PlatformAuthentication {
  verdict: 'platform';
  /** The Slack workspace (team id) or the Matrix homeserver (server name) that vouches for the sender id. */
  authority: string | null;
}

/** What `accept` hands back once the letter is committed. */
export interface Acceptance {
  number: string;
  receiptUrl: string;
  /** The same message was registered before (same channel id and sender): nothing new queued. */
  duplicate: boolean;
  departments: string[];
  /** Set when the letter was an answer: the number of the letter it answers. */
  answers?: string | undefined;
}

export interface DepartmentView {
  code: string;
  names: Record<string, string>;
  addresses: string[];
  /** Channel name -> addresses on that channel (mailboxes, Slack channels, Matrix rooms). */
  channels: Record<ChannelName, string[]>;
}

export const LETTER_STATUSES = ['registered', 'forwarded', 'acknowledged', 'transferred', 'answered', 'closed'] as const;
export type LetterStatus = (typeof LETTER_STATUSES)[number];

export interface LetterSummary {
  number: string;
  direction: 'incoming' | 'outgoing';
  channel: ChannelName;
  sender: ChannelAddress;
  subject: string | undefined;
  departments: string[];
  status: LetterStatus;
  registeredAt: Date;
  receiptUrl: string;
  /** The number of the letter this one answers, for outgoing answers. */
  answers?: string | undefined;
}

/** What a recipient address of the gateway's own domain leads to. */
export type RecipientRoute =
  | { kind: 'department'; code: string }
  | { kind: 'answer'; token: string }
  | { kind: 'unknown' }
  | { kind: 'foreign' };

/**
 * A step a person asks for on a letter, named by the event it records (src/lifecycle). The core
 * decides whether the letter's state allows it; `reason` and `text` are bounded (TEXT_LIMITS).
 */
export type LetterActionRequest =
  | { action: 'acknowledged' }
  /** `toDepartment`: a department code; none (a select left empty) is refused as `department.unknown`. */
  | { action: 'transferred'; toDepartment: string | undefined; reason?: string | undefined }
  /** `assignee`: the id of the person who is to work the letter. */
  | { action: 'assigned'; assignee: string }
  | { action: 'note_added'; text: string }
  /** `dueDate`: the new due day (YYYY-MM-DD), later than the current one. */
  | { action: 'deadline_extended'; dueDate: string; reason: string }
  | { action: 'closed'; outcome: CloseOutcome }
  | { action: 'reopened'; reason: string };
export type LetterAction = LetterActionRequest['action'];

export interface GatewayPort {
  /** Registers the letter and queues its deliveries; resolves after commit. Throws WaslError. */
  accept(letter: InboundLetter): Promise<Acceptance>;
  /** Where an address leads, for checks at the channel's door (SMTP RCPT TO). */
  routeRecipient(address: string): RecipientRoute;
  departments(): readonly DepartmentView[];
  findLetter(number: string): Promise<LetterSummary | undefined>;
  listLetters(filter: { department?: string; open?: boolean; limit?: number }): Promise<LetterSummary[]>;
  /**
   * Records a step a person took on a letter (who acknowledged, transferred, closed it...), when
   * its state allows it; otherwise throws WaslError with the refusal's code (`letter.closed`...)
   * and nothing is recorded (src/lifecycle/lifecycle-text.ts words it for people).
   */
  recordAction(input: { number: string; actor: ChannelAddress } & LetterActionRequest): Promise<LetterSummary>;
  /**
   * The answer token bound to the message this adapter sent earlier (by `send`'s externalId),
   * so a reply in that thread can be tied back to its letter across restarts.
   */
  answerTokenForThread(channel: ChannelName, externalId: string): Promise<string | undefined>;
  /**
   * The number of the letter registered from this message (same channel, sender and message id),
   * if any. Where message ids are unique and immutable (Matrix event ids), a message seen again
   * (a chat replayed after a restart) is known here before its files are fetched.
   */
  registeredFrom(message: { channel: ChannelName; senderId: string; externalId: string }): Promise<string | undefined>;
  /**
   * Claims a channel event id once: true the first time, false ever after (also across a
   * restart). For events that are not letters (button presses, commands) and must act once.
   */
  claimEvent(channel: ChannelName, eventId: string): Promise<boolean>;
  /**
   * A delivery status notification (RFC 3464) said these deliveries failed: each one the relay
   * had taken is marked failed and its letter shows it, in one transaction; the others (still
   * pending, being sent, failed already) are left as they are. Resolves with those it marked.
   */
  reportUndeliverable(input: { deliveryIds: readonly number[]; reason: string }): Promise<{ deliveryId: number; number: string }[]>;
  /** Keeps an outgoing message in the built-in mailbox (when no relay is configured). */
  keepInMailbox(message: MailboxMessageInput): Promise<{ id: number }>;
}

export interface MailboxMessageInput {
  deliveryId: number;
  envelopeFrom: string;
  recipients: string[];
  subject: string;
  raw: Uint8Array;
}

export type OutboundKind = 'forward' | 'receipt' | 'answer';

/** One delivery the outbox hands to the target channel's adapter. */
export interface OutboundMessage {
  /** Stable across retries: use it to make sends idempotent (email Message-ID, Slack metadata). */
  deliveryId: number;
  kind: OutboundKind;
  to: ChannelAddress;
  /** Rendered by the core from templates/ in the letter's language. */
  subject: string;
  text: string;
  html?: string | undefined;
  attachments: Attachment[];
  letter: LetterSummary;
  /** The department the message goes to, for forwards. */
  department?: DepartmentView | undefined;
  /** On forwards: the token that binds a reply to this letter (reply address, button values). */
  answerToken?: string | undefined;
  /** The channel id of the message this one answers, when it lives on the same channel. */
  inReplyTo?: string | undefined;
  /** Which attempt this is, starting at 1. */
  attempt: number;
}

export interface SendResult {
  /** The channel's own id of what was sent (email Message-ID, Slack `channel:ts`, Matrix event id). */
  externalId: string;
}

export interface ChannelAdapter {
  readonly name: ChannelName;
  start(): Promise<void>;
  /** Stops intake first; must return only when no intake is in progress. */
  stop(): Promise<void>;
  /**
   * Sends one message. Throws WaslError: `temporary: true` makes the outbox retry (honouring
   * `retryAfterMs`), `temporary: false` marks the delivery failed at once.
   */
  send(message: OutboundMessage): Promise<SendResult>;
  /** The port the adapter listens on once started, when it has one (the SMTP server). */
  readonly listeningPort?: number;
}

/** Lets an adapter answer HTTP requests on the gateway's web server (Slack's /slack/events). */
export type HttpHandler = (request: IncomingMessage, response: ServerResponse) => void;

export interface HttpMount {
  mount(path: string, handler: HttpHandler): void;
}

/** The gateway-wide settings an adapter may read. */
export interface GatewaySettings {
  domain: string;
  publicUrl: string;
  dataDir: string;
  officeName: Record<string, string>;
  /** The local part the gateway sends from (`courrier` in courrier@domain). */
  fromLocalPart: string;
  defaultLanguage: string;
  timezone: string;
}

/** What an adapter may measure; the gateway keeps the figures and serves them at /metrics. */
export interface AdapterMetrics {
  /**
   * A histogram of durations, `wasl_<channel>_<name>_seconds` (name: lower case, digits, `_`).
   * `start()` begins one measurement and returns the function that ends and records it.
   */
  duration(name: string, help: string): { start(): () => void };
}

/**
 * Unguessable tokens that name a number (`<id>-<HMAC>`), made with the gateway's secret: what an
 * adapter puts in an address or a link it must later recognise as its own (email: the VERP
 * address a bounce comes back to). `idOf` answers undefined for any token it did not make.
 */
export interface IdTokens {
  tokenFor(id: number): string;
  idOf(token: string): number | undefined;
}

/**
 * Rate limits an adapter keeps per key (a client address, a sender): token buckets, a burst of
 * `limit` refilled at `limit` per `windowMs`. On PostgreSQL the register keeps them, so they hold
 * across every gateway sharing it; on SQLite, where a gateway is alone on its register, this
 * process's memory does, with no write per take.
 */
export interface RateLimits {
  /**
   * The buckets of one limit; `kind` names it within the channel (`letters-per-sender`). At most
   * `trackedKeys` keys are remembered: past it the ones closest to a full bucket are forgotten,
   * which only ever lets a take through.
   */
  buckets(rate: { kind: string; limit: number; windowMs: number; trackedKeys: number }): RateBuckets;
}

export interface RateBuckets {
  /**
   * Takes a token for `key`. Rejects when the register does not answer in time: the caller refuses
   * for now (a temporary error), never lets it through.
   */
  take(key: string): Promise<TokenTaken>;
}

export interface TokenTaken {
  allowed: boolean;
  /** Milliseconds until the key has a token again: 0 when one was taken. */
  waitMs: number;
}

export interface AdapterContext<Config> {
  config: Config;
  settings: GatewaySettings;
  port: GatewayPort;
  /** Bound to the channel's name already (`channel` in every line). */
  logger: Logger;
  http: HttpMount;
  now: () => Date;
  /** Tokens for one purpose; the purpose keeps kinds apart (a token of one never passes for another). */
  tokens(purpose: string): IdTokens;
  /** Bound to the channel's name already. */
  metrics: AdapterMetrics;
  /** Bound to the channel's name already. */
  limits: RateLimits;
  /**
   * Has `work` done by one gateway at a time among those sharing the register: a connection that
   * receives every event of the channel (Slack Socket Mode, the Matrix sync), which two gateways
   * would each take. Declared in `create`; from the gateway's start to its stop, `start` runs when
   * this gateway holds the lease `name` (the channel's own: names of two channels never meet) and
   * `stop` when it loses it, so a work may be started again after a stop. Sending must not depend
   * on it: every gateway sends.
   */
  lead(name: string, work: { start(): Promise<void>; stop(): Promise<void> }): void;
}

/**
 * An adapter as its module writes it. Its configuration lives under `adapters.<name>` and is
 * validated by its own schema; `create` returns `{ off }` when the channel has no settings, with
 * the reason, which the gateway logs once at start.
 */
export interface AdapterModule<Schema extends z.ZodType> {
  name: ChannelName;
  configSchema: Schema;
  /** Environment variables that override keys of this adapter's configuration. */
  environment: Record<string, { key: string; type: 'string' | 'number' | 'boolean' }>;
  create(context: AdapterContext<z.output<Schema>>): ChannelAdapter | { off: string };
}

/** An adapter as the gateway holds it, whatever its settings' type: what `defineAdapter` makes. */
export interface AdapterDefinition extends Omit<AdapterModule<z.ZodType>, 'create'> {
  create(context: AdapterContext<unknown>): ChannelAdapter | { off: string };
}

/**
 * Declares an adapter. Its `create` gets its section of the configuration parsed by its own schema
 * (the loader has checked it already, and parsing what a schema made gives it back unchanged), so
 * the gateway holds adapters of every settings type in one list without casting any.
 */
export function defineAdapter<Schema extends z.ZodType>(module: AdapterModule<Schema>): AdapterDefinition {
  return { ...module, create: (context) => module.create({ ...context, config: module.configSchema.parse(context.config) }) };
}
