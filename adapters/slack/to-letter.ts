/**
 * Pure mapping from what Slack sends us (slash command text, modal submissions, thread replies)
 * to the core's channel-neutral letter. No I/O here: tested on recorded payloads in
 * test/fixtures/slack/.
 */
import { createHash } from 'node:crypto';
import type { Attachment, ChannelAddress, InboundLetter } from '../../src/channels/port.js';

export const SLACK = 'slack';

/** Block and action ids of the send form, shared by the form and the code that reads it. */
export const FORM = {
  callbackId: 'wasl.send',
  department: 'department',
  subject: 'subject',
  body: 'body',
  files: 'files',
  /** Every input block of the form has one element with this action id. */
  value: 'value',
} as const;

export type ParsedCommand =
  | { kind: 'help' }
  | { kind: 'send-form' }
  | { kind: 'send'; department: string; subject: string; body: string }
  | { kind: 'send-usage' }
  | { kind: 'status'; number: string | undefined }
  | { kind: 'list' }
  | { kind: 'unknown'; word: string };

/** French and Arabic speakers may type the verb in their language. */
const VERBS: Record<string, 'help' | 'send' | 'status' | 'list'> = {
  help: 'help',
  aide: 'help',
  'مساعدة': 'help',
  send: 'send',
  envoyer: 'send',
  'إرسال': 'send',
  status: 'status',
  statut: 'status',
  etat: 'status',
  'état': 'status',
  'حالة': 'status',
  list: 'list',
  liste: 'list',
  'لائحة': 'list',
};

/**
 * Reads the text after the slash command. `send DEPT subject` takes the subject from the rest of
 * the first line and the body from the lines below (Slack keeps newlines typed with Shift+Enter).
 */
export function parseCommand(text: string): ParsedCommand {
  const [firstLine = '', ...rest] = text.replace(/\r\n/g, '\n').split('\n');
  const words = firstLine.trim().split(/\s+/).filter(Boolean);
  const [verbWord, ...args] = words;
  if (!verbWord) return { kind: 'help' };
  const verb = VERBS[verbWord.toLowerCase()];
  if (verb === 'help' || verb === 'list') return { kind: verb };
  if (verb === 'status') return { kind: 'status', number: args[0]?.toUpperCase() };
  if (verb === 'send') {
    const body = rest.join('\n').trim();
    if (args.length === 0 && body === '') return { kind: 'send-form' };
    const [department, ...subjectWords] = args;
    if (!department) return { kind: 'send-usage' };
    return { kind: 'send', department, subject: subjectWords.join(' '), body };
  }
  return { kind: 'unknown', word: verbWord };
}

/**
 * Slack's message text is mrkdwn with its own escapes: `&amp;` `&lt;` `&gt;`, and `<...>` for
 * links, mentions and channels (https://docs.slack.dev/messaging/formatting-message-text).
 * The register keeps plain text a person can read anywhere.
 */
export function plainTextOf(mrkdwn: string): string {
  return mrkdwn
    .replace(/<([^<>]+)>/g, (_whole, inner: string) => {
      const [target = '', label] = inner.split('|', 2);
      if (target.startsWith('@') || target.startsWith('#')) return label ? `${target[0]}${label.replace(/^[@#]/, '')}` : target;
      if (target.startsWith('!')) return label ?? `@${target.slice(1).split('^')[0]}`;
      return label && label !== target ? `${label} (${target})` : target;
    })
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** A file Slack tells us about, to be fetched before the letter is accepted. */
export interface SlackFileRef {
  id: string;
  name: string | undefined;
  mimetype: string;
  size: number | undefined;
  /** Absent when Slack gave only the id: then files.info tells. */
  url: string | undefined;
}

interface SlackFileObject {
  id?: string;
  name?: string;
  title?: string;
  mimetype?: string;
  size?: number;
  url_private_download?: string;
  url_private?: string;
}

export function fileRefOf(file: SlackFileObject): SlackFileRef | undefined {
  if (!file.id) return undefined;
  return {
    id: file.id,
    name: file.name ?? file.title,
    mimetype: file.mimetype || 'application/octet-stream',
    size: file.size,
    url: file.url_private_download ?? file.url_private,
  };
}

/** The parts of a `view_submission` payload we read. */
export interface SubmittedView {
  id: string;
  private_metadata?: string;
  state: { values: Record<string, Record<string, SubmittedValue>> };
}

interface SubmittedValue {
  type: string;
  value?: string | null;
  selected_option?: { value: string } | null;
  files?: SlackFileObject[];
}

export interface FormValues {
  department: string | undefined;
  subject: string;
  body: string;
  files: SlackFileRef[];
}

export function formValuesOf(view: SubmittedView): FormValues {
  const field = (block: string) => view.state.values[block]?.[FORM.value];
  return {
    department: field(FORM.department)?.selected_option?.value,
    subject: (field(FORM.subject)?.value ?? '').trim(),
    body: (field(FORM.body)?.value ?? '').trim(),
    files: (field(FORM.files)?.files ?? []).map(fileRefOf).filter((file): file is SlackFileRef => file !== undefined),
  };
}

/** What the send form carries from the command that opened it, to the submission. */
export interface FormContext {
  /** The conversation the command was typed in. */
  channel: string;
  /** Where the ephemeral confirmation goes (valid 30 minutes, 5 uses). */
  responseUrl: string | undefined;
  language: string;
}

export function encodeFormContext(context: FormContext): string {
  return JSON.stringify({ c: context.channel, r: context.responseUrl, l: context.language });
}

export function decodeFormContext(metadata: string | undefined): FormContext | undefined {
  try {
    const parsed = JSON.parse(metadata ?? '') as { c?: unknown; r?: unknown; l?: unknown };
    if (typeof parsed.c !== 'string' || typeof parsed.l !== 'string') return undefined;
    return { channel: parsed.c, responseUrl: typeof parsed.r === 'string' ? parsed.r : undefined, language: parsed.l };
  } catch {
    // private_metadata is ours, but a form opened by an older version may carry something else.
    return undefined;
  }
}

export interface SlackUser {
  id: string;
  /** The name people see; falls back to the handle. */
  displayName: string | undefined;
  language: string | undefined;
}

export type ReplyPlace = 'user' | 'channel';

function personOf(user: SlackUser): ChannelAddress {
  return { channel: SLACK, id: user.id, displayName: user.displayName };
}

/** Receipts and answers go to the person (a DM from the app) or to the conversation they wrote in. */
function replyAddress({ user, channel, place }: { user: SlackUser; channel: string; place: ReplyPlace }): ChannelAddress {
  return place === 'channel' ? { channel: SLACK, id: channel } : personOf(user);
}

/** Same submission, same id: Slack retries and double clicks are duplicates; an edited form is a new letter. */
export function submissionId({ viewId, values }: { viewId: string; values: FormValues }): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([values.department, values.subject, values.body, values.files.map((file) => file.id)]))
    .digest('hex')
    .slice(0, 16);
  return `view:${viewId}:${digest}`;
}

export function formLetter({
  viewId,
  values,
  user,
  context,
  place,
  attachments,
  receivedAt,
}: {
  viewId: string;
  values: FormValues;
  user: SlackUser;
  context: FormContext;
  place: ReplyPlace;
  attachments: Attachment[];
  receivedAt: Date;
}): InboundLetter {
  return {
    channel: SLACK,
    externalId: submissionId({ viewId, values }),
    receivedAt,
    from: personOf(user),
    replyTo: replyAddress({ user, channel: context.channel, place }),
    to: values.department ? [values.department] : [],
    subject: values.subject || undefined,
    text: values.body,
    attachments,
    language: user.language ?? context.language,
    receiptInline: true,
  };
}

export function commandLetter({
  triggerId,
  command,
  user,
  channel,
  place,
  receivedAt,
}: {
  /** Slack's id of this one invocation of the command. */
  triggerId: string;
  command: { department: string; subject: string; body: string };
  user: SlackUser;
  channel: string;
  place: ReplyPlace;
  receivedAt: Date;
}): InboundLetter {
  return {
    channel: SLACK,
    externalId: `command:${triggerId}`,
    receivedAt,
    from: personOf(user),
    replyTo: replyAddress({ user, channel, place }),
    to: [command.department],
    subject: command.subject || undefined,
    text: command.body,
    attachments: [],
    language: user.language,
    receiptInline: true,
  };
}

/** The parts of a `message` event we read. */
export interface MessageEvent {
  type: 'message';
  subtype?: string;
  channel: string;
  user?: string;
  bot_id?: string;
  text?: string;
  ts: string;
  thread_ts?: string;
  files?: SlackFileObject[];
}

/**
 * Only people's own words in a thread are answers: no bots (ours or others), no edits, deletions,
 * joins or other housekeeping subtypes, and not the thread's first message itself.
 */
export function isThreadReplyByPerson(event: MessageEvent): event is MessageEvent & { user: string; thread_ts: string } {
  const personSubtypes = [undefined, 'file_share', 'thread_broadcast'];
  return (
    personSubtypes.includes(event.subtype) &&
    event.bot_id === undefined &&
    typeof event.user === 'string' &&
    typeof event.thread_ts === 'string' &&
    event.thread_ts !== event.ts
  );
}

export function messageFileRefs(event: MessageEvent): SlackFileRef[] {
  return (event.files ?? []).map(fileRefOf).filter((file): file is SlackFileRef => file !== undefined);
}

/** Where the forward of a letter lives, as `send` returned it: the key the core binds to the letter. */
export function threadKey({ channel, ts }: { channel: string; ts: string }): string {
  return `${channel}:${ts}`;
}

export function threadAnswerLetter({
  eventId,
  event,
  user,
  answerToken,
  attachments,
  raw,
  receivedAt,
}: {
  /** Slack's event id: the same on every retry of this event. */
  eventId: string;
  event: MessageEvent & { user: string; thread_ts: string };
  user: SlackUser;
  answerToken: string;
  attachments: Attachment[];
  raw: Uint8Array | undefined;
  receivedAt: Date;
}): InboundLetter {
  return {
    channel: SLACK,
    externalId: eventId,
    receivedAt,
    from: personOf(user),
    replyTo: { channel: SLACK, id: event.channel, thread: event.thread_ts },
    to: [],
    subject: undefined,
    text: plainTextOf(event.text ?? ''),
    attachments,
    inReplyTo: threadKey({ channel: event.channel, ts: event.thread_ts }),
    answerToken,
    raw,
    language: user.language,
  };
}
