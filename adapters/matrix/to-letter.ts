/**
 * Matrix events to wasl letters, without I/O: which events the bot acts on, how a command reads,
 * and the InboundLetter a command or a thread answer becomes. Events arrive here as plain facts
 * (the event JSON the homeserver sent), so these functions are tested on recorded fixtures.
 */
import type { Attachment, InboundLetter, PlatformAuthentication } from '../../src/channels/port.js';
import { canonicalBytes } from '../../src/evidence/canonical-json.js';

/** One room event as the Client-Server API gives it (spec: "Room Events"). */
export interface MatrixEventFacts {
  event_id: string;
  room_id: string;
  sender: string;
  type: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
}

export type Command =
  | { kind: 'send'; department: string; subject: string | undefined; body: string }
  | { kind: 'status'; number: string }
  | { kind: 'help' }
  /** The prefix was there but the words after it make no command: the bot answers with help. */
  | { kind: 'unknown'; word: string };

/** What a file event points to; encrypted files (`file` instead of `url`) are out of reach without crypto. */
export interface FileReference {
  mxc: string;
  filename: string | undefined;
  contentType: string;
  size: number | undefined;
}

const FILE_MESSAGE_TYPES = new Set(['m.file', 'm.image', 'm.audio', 'm.video']);

function relationOf(content: Record<string, unknown>): { rel_type?: unknown; event_id?: unknown } | undefined {
  const relation = content['m.relates_to'];
  return typeof relation === 'object' && relation !== null ? (relation as { rel_type?: unknown; event_id?: unknown }) : undefined;
}

/** The thread-root event id when the event is in a thread (spec: "Threading", rel_type m.thread). */
export function threadRootOf(content: Record<string, unknown>): string | undefined {
  const relation = relationOf(content);
  return relation?.rel_type === 'm.thread' && typeof relation.event_id === 'string' ? relation.event_id : undefined;
}

export function isFileMessage(content: Record<string, unknown>): boolean {
  return FILE_MESSAGE_TYPES.has(String(content.msgtype));
}

export function fileReferenceOf(content: Record<string, unknown>): FileReference | undefined {
  if (!isFileMessage(content) || typeof content.url !== 'string' || !content.url.startsWith('mxc://')) return undefined;
  const info = (typeof content.info === 'object' && content.info !== null ? content.info : {}) as { mimetype?: unknown; size?: unknown };
  const filename = typeof content.filename === 'string' ? content.filename : typeof content.body === 'string' ? content.body : undefined;
  return {
    mxc: content.url,
    filename,
    contentType: typeof info.mimetype === 'string' && info.mimetype !== '' ? info.mimetype : 'application/octet-stream',
    size: typeof info.size === 'number' ? info.size : undefined,
  };
}

/**
 * The words a person wrote. A file's `body` is its caption only when a separate `filename` is
 * given (MSC2530, in the spec since v1.10); otherwise it is just the file name. Reply fallbacks
 * (`> <@user> quoted` lines, removed from the spec in v1.13) are dropped.
 */
export function writtenText(content: Record<string, unknown>): string {
  const body = typeof content.body === 'string' ? content.body : '';
  if (isFileMessage(content)) return typeof content.filename === 'string' && content.filename !== body ? body : '';
  if (content.msgtype !== 'm.text' && content.msgtype !== 'm.emote') return '';
  const replying = relationOf(content) && (content['m.relates_to'] as Record<string, unknown>)['m.in_reply_to'];
  if (!replying || !body.startsWith('> ')) return body;
  const lines = body.split('\n');
  const firstOwn = lines.findIndex((line) => !line.startsWith('>'));
  return firstOwn === -1 ? '' : lines.slice(firstOwn).join('\n').replace(/^\n+/, '');
}

/** The reason given for an encrypted message: the bot, without crypto, cannot read it (and says so once per room). */
export const ENCRYPTED = 'encrypted (the bot has no end-to-end encryption)';

/**
 * Why the bot does not act on this event, or undefined when it should look at it. Its own
 * events and notices (what bots send, spec "m.notice") are never acted on, so two bots cannot loop;
 * edits would act twice on one message; events from before the bot joined are someone else's past.
 */
export function whyIgnored({ event, botUserId, joinedAt }: { event: MatrixEventFacts; botUserId: string; joinedAt: number | undefined }): string | undefined {
  if (event.sender === botUserId) return 'own event';
  if (joinedAt === undefined) return 'the bot is not in the room';
  if (event.origin_server_ts < joinedAt) return 'sent before the bot joined';
  if (event.type === 'm.room.encrypted') return ENCRYPTED;
  if (event.type !== 'm.room.message') return 'not a message';
  if (event.content.msgtype === 'm.notice') return 'notice (written by a bot)';
  if (relationOf(event.content)?.rel_type === 'm.replace') return 'edit of an earlier message';
  return undefined;
}

/** `!courrier send RH Subject` / body on the next lines; `status NUMBER`; `help`. Case of the words does not matter. */
export function parseCommand({ text, prefix }: { text: string; prefix: string }): Command | undefined {
  const trimmed = text.replace(/^\s+/, '');
  const [firstLine = '', ...rest] = trimmed.split(/\r?\n/);
  const words = firstLine.trim().split(/\s+/);
  if (words[0]?.toLowerCase() !== prefix.toLowerCase()) return undefined;
  const verb = (words[1] ?? 'help').toLowerCase();
  if (verb === 'help') return { kind: 'help' };
  if (verb === 'status') return words[2] ? { kind: 'status', number: words[2] } : { kind: 'help' };
  if (verb === 'send') {
    if (!words[2]) return { kind: 'help' };
    const subject = words.slice(3).join(' ').trim();
    return { kind: 'send', department: words[2], subject: subject === '' ? undefined : subject, body: rest.join('\n').replace(/^\n+|\s+$/g, '') };
  }
  return { kind: 'unknown', word: words[1]! };
}

/** Inviters allowed by the configuration: a user id (`@alice:example.org`) or a whole server (`example.org`). */
export function isAllowedInviter({ inviter, allowed }: { inviter: string; allowed: readonly string[] }): boolean {
  const server = inviter.slice(inviter.indexOf(':') + 1).toLowerCase();
  return allowed.some((entry) => (entry.startsWith('@') ? entry === inviter : entry.toLowerCase() === server));
}

/**
 * The sender's homeserver, the server name of `@localpart:server.name` (Matrix spec, user
 * identifiers): it signed the event and vouches for the account, as the register records.
 */
function platformOf(sender: string): PlatformAuthentication {
  const colon = sender.indexOf(':');
  return { verdict: 'platform', authority: colon === -1 ? null : sender.slice(colon + 1) };
}

/**
 * The fields of a client-format event that the sender's homeserver signs (spec: "Signing events",
 * the PDU's `type`, `content`, `sender`, `room_id`, `origin_server_ts`, `state_key`, `redacts`)
 * and the event id, which hashes them (room versions 3+). Everything else is the serving
 * homeserver's: `unsigned` (its `age` is computed each time the event is served, its
 * `m.relations` grows with the thread) and any field it adds.
 */
const SIGNED_FIELDS = ['event_id', 'room_id', 'sender', 'type', 'origin_server_ts', 'content', 'state_key', 'redacts'] as const;

/**
 * The letter's original: what the homeserver signed of the event, in canonical JSON, so the same
 * event gives the same bytes however often and by whom it is served (after a restart the SDK is
 * served each room's recent events again, with another `unsigned.age`).
 */
function originalOf(event: MatrixEventFacts): Uint8Array {
  const served = event as unknown as Record<string, unknown>;
  const signed = Object.fromEntries(SIGNED_FIELDS.filter((field) => served[field] !== undefined).map((field) => [field, served[field]]));
  try {
    return canonicalBytes(signed);
  } catch {
    // A string with a lone surrogate has no canonical form (RFC 8785 §3.1); the letter is still taken.
    return Buffer.from(JSON.stringify(signed), 'utf8');
  }
}

/** A letter sent with `!courrier send`: receipts go to the thread of the command. */
export function commandLetter({
  event,
  command,
  attachments,
  displayName,
}: {
  event: MatrixEventFacts;
  command: Extract<Command, { kind: 'send' }>;
  attachments: Attachment[];
  displayName: string | undefined;
}): InboundLetter {
  return {
    channel: 'matrix',
    externalId: event.event_id,
    receivedAt: new Date(event.origin_server_ts),
    from: { channel: 'matrix', id: event.sender, displayName },
    authentication: platformOf(event.sender),
    replyTo: { channel: 'matrix', id: event.room_id, thread: threadRootOf(event.content) ?? event.event_id },
    to: [command.department],
    subject: command.subject,
    text: command.body,
    attachments,
    raw: originalOf(event),
  };
}

/** A reply in the thread of a forwarded letter: an answer to the letter the thread's token names. */
export function answerLetter({
  event,
  answerToken,
  attachments,
  displayName,
}: {
  event: MatrixEventFacts;
  answerToken: string;
  attachments: Attachment[];
  displayName: string | undefined;
}): InboundLetter {
  const thread = threadRootOf(event.content);
  return {
    channel: 'matrix',
    externalId: event.event_id,
    receivedAt: new Date(event.origin_server_ts),
    from: { channel: 'matrix', id: event.sender, displayName },
    authentication: platformOf(event.sender),
    replyTo: { channel: 'matrix', id: event.room_id, thread },
    to: [],
    subject: undefined,
    text: writtenText(event.content),
    attachments,
    inReplyTo: thread,
    answerToken,
    raw: originalOf(event),
  };
}
