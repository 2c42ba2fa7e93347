/**
 * What the bot hears: invites it accepts, `!courrier` commands, and replies in the threads of the
 * letters it forwarded. Every path ends in exactly one answer in the sender's thread, and never
 * a second one for the same event, even across a restart (when the SDK replays each room's
 * recent timeline): an event the register knows (`registeredFrom`, by its event id) is left
 * before any file is fetched, the receipt is a durable outbox delivery, and every other answer is
 * sent only after `claimEvent` said it is the first.
 *
 * Events are judged once the sync response that carried them has been processed whole, so the
 * room state (the bot's own membership) is final when "did this happen before we joined?" is asked.
 */
import type { Language } from '../../src/config/config.schema.js';
import {
  ClientEvent,
  Filter,
  RoomEvent,
  RoomMemberEvent,
  SyncState,
  type MatrixEvent,
  type Room,
  type RoomMember,
  type SyncStateData,
} from 'matrix-js-sdk';
import type { Logger } from 'pino';
import type { Attachment, GatewayPort, GatewaySettings } from '../../src/channels/port.js';
import { toWaslError, type WaslError } from '../../src/errors.js';
import { matrixFailure, type Homeserver } from './homeserver.js';
import type { MatrixConfig } from './index.js';
import {
  answerLetter,
  commandLetter,
  ENCRYPTED,
  fileReferenceOf,
  isAllowedInviter,
  parseCommand,
  threadRootOf,
  whyIgnored,
  writtenText,
  type Command,
  type MatrixEventFacts,
} from './to-letter.js';
import { encryptedRoomText, helpText, noticeContent, refusalText, registerAwayText, replyTransactionId, statusText, waitingTransactionId, type Refusal } from './to-native.js';

/** Longest pause between two attempts at something the homeserver or the register refused for now. */
const RETRY_MAX_MS = 60_000;
const RETRY_FIRST_MS = 500;

class Stopping extends Error {}

export function createMatrixIntake({
  homeserver,
  config,
  settings,
  port,
  logger,
  language,
}: {
  homeserver: Homeserver;
  config: MatrixConfig & { userId: string };
  settings: GatewaySettings;
  port: GatewayPort;
  logger: Logger;
  language: Language;
}) {
  const { client } = homeserver;
  const botUserId = config.userId;
  /** Timeline events of the sync response being processed, judged when it is done. */
  let pending: MatrixEventFacts[] = [];
  /** Events in hand, so one delivered twice while the first is handled is handled once. */
  const inHand = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  let stopping = new AbortController();
  let running = false;

  function track(work: Promise<void>): void {
    const tracked = work.catch((error: unknown) => {
      if (!(error instanceof Stopping)) logger.error({ err: error, phase: 'intake' }, 'unexpected failure while handling a Matrix event');
    });
    inFlight.add(tracked);
    void tracked.finally(() => inFlight.delete(tracked));
  }

  /**
   * Retries what failed for now (homeserver away, register unreachable) until it works or the
   * gateway stops: the event stays in hand meanwhile, so nothing is dropped. `waiting` is told of
   * the first failure (to tell the sender).
   */
  async function persist<T>(what: string, work: () => Promise<T>, { waiting }: { waiting?: (error: WaslError) => Promise<unknown> } = {}): Promise<T> {
    for (let attempt = 1; ; attempt += 1) {
      if (stopping.signal.aborted) throw new Stopping();
      try {
        return await work();
      } catch (caught) {
        const error = toWaslError(caught);
        if (!error.temporary) throw error;
        if (attempt === 1) await waiting?.(error).catch((failure: unknown) => logger.warn({ phase: 'intake', err: failure }, 'could not tell the sender the letter waits'));
        const delay = Math.max(error.retryAfterMs ?? 0, Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (attempt - 1)));
        logger.warn({ phase: 'intake', code: error.code, attempt, delayMs: delay }, `${what} failed for now; trying again`);
        await pause(delay, stopping.signal);
      }
    }
  }

  const departmentRooms = () => new Set(port.departments().flatMap((department) => department.channels.matrix ?? []));

  function joinedAt(roomId: string): number | undefined {
    const member = client.getRoom(roomId)?.getMember(botUserId);
    if (member?.membership !== 'join') return undefined;
    const event = member.events.member;
    // A later change of the bot's own profile is a member event too; then the join is older than it.
    if (!event || event.getPrevContent().membership === 'join') return 0;
    return event.getTs();
  }

  function displayNameOf({ roomId, userId }: { roomId: string; userId: string }): string | undefined {
    const name = client.getRoom(roomId)?.getMember(userId)?.rawDisplayName;
    return name && name !== userId ? name : undefined;
  }

  function threadOfAnswer(event: MatrixEventFacts): string {
    return threadRootOf(event.content) ?? event.event_id;
  }

  /** Answers a command once: after a restart the same event finds its claim taken and stays silent. */
  async function answerOnce(event: MatrixEventFacts, text: string): Promise<void> {
    if (!(await port.claimEvent('matrix', event.event_id))) {
      logger.debug({ phase: 'intake', event: event.event_id }, 'already answered');
      return;
    }
    await persist('answering a command', () =>
      homeserver.sendEvent({ roomId: event.room_id, content: noticeContent({ text, thread: threadOfAnswer(event) }), txnId: replyTransactionId(event.event_id) }),
    );
  }

  /**
   * A person writing in an encrypted room (Element encrypts direct chats by default) would get no
   * answer at all: the bot says once per room, in clear, that it cannot read it.
   */
  async function explainEncryption(event: MatrixEventFacts): Promise<void> {
    if (!(await port.claimEvent('matrix', `${event.room_id}#encrypted`))) return;
    logger.warn({ phase: 'intake', room: event.room_id }, 'encrypted messages in a room: the bot cannot read them');
    await persist('explaining encryption', () =>
      homeserver.sendEvent({ roomId: event.room_id, content: noticeContent({ text: encryptedRoomText(language) }), txnId: replyTransactionId(event.event_id) }),
    );
  }

  function refusalFor(error: WaslError): Refusal {
    if (error.code === 'department.unknown') return { reason: 'unknown-department', department: String((error.details?.destinations as string[] | undefined)?.[0] ?? '') };
    if (error.code === 'letter.too_large') return { reason: 'too-large', limitBytes: config.maxAttachmentBytes };
    return { reason: 'other', code: error.code };
  }

  async function refuse(event: MatrixEventFacts, refusal: Refusal): Promise<void> {
    await answerOnce(event, refusalText({ refusal, departments: port.departments(), language }));
  }

  async function download(events: MatrixEventFacts[]): Promise<Attachment[]> {
    const attachments: Attachment[] = [];
    for (const file of events.map((candidate) => fileReferenceOf(candidate.content))) {
      if (file) attachments.push(await homeserver.download(file));
    }
    return attachments;
  }

  /** The command's own file (a captioned file) and the files its sender posted before it in the same thread. */
  async function attachmentsOfCommand(event: MatrixEventFacts): Promise<Attachment[]> {
    const root = threadRootOf(event.content);
    const thread = root
      ? [await homeserver.fetchEvent({ roomId: event.room_id, eventId: root }), ...(await homeserver.threadEvents({ roomId: event.room_id, rootEventId: root }))]
      : [];
    const earlierFiles = thread.filter(
      (candidate) => candidate.sender === event.sender && candidate.event_id !== event.event_id && candidate.origin_server_ts <= event.origin_server_ts,
    );
    return download([...earlierFiles, event]);
  }

  /**
   * Tells the sender their letter waits for the register; one transaction id per event, so saying
   * it twice posts it once. Not when the letter is registered and only its flush failed: the next
   * try finds it, and its number is the answer.
   */
  async function tellWaiting(event: MatrixEventFacts, error: WaslError): Promise<unknown> {
    if (error.code === 'register.not_confirmed') return;
    return homeserver.sendEvent({ roomId: event.room_id, content: noticeContent({ text: registerAwayText(language), thread: threadOfAnswer(event) }), txnId: waitingTransactionId(event.event_id) });
  }

  async function register({ event, build }: { event: MatrixEventFacts; build: () => Promise<ReturnType<typeof commandLetter> | undefined> }): Promise<void> {
    try {
      const letter = await persist('reading the letter', build);
      if (!letter) return refuse(event, { reason: 'empty' });
      const acceptance = await persist('registering the letter', () => port.accept(letter), { waiting: (error) => tellWaiting(event, error) });
      // Duplicates are the SDK replaying recent events after a restart: worth a debug line only.
      logger[acceptance.duplicate ? 'debug' : 'info']({ phase: 'intake', letter: acceptance.number, duplicate: acceptance.duplicate, answers: acceptance.answers }, acceptance.duplicate ? 'letter already registered' : 'letter registered');
    } catch (error) {
      if (error instanceof Stopping) throw error;
      const failure = toWaslError(error);
      logger.info({ phase: 'intake', code: failure.code }, 'letter refused');
      await refuse(event, refusalFor(failure));
    }
  }

  async function sendCommand(event: MatrixEventFacts, command: Extract<Command, { kind: 'send' }>): Promise<void> {
    await register({
      event,
      async build() {
        const attachments = await attachmentsOfCommand(event);
        if (command.body === '' && attachments.length === 0) return undefined;
        return commandLetter({ event, command, attachments, displayName: displayNameOf({ roomId: event.room_id, userId: event.sender }) });
      },
    });
  }

  /**
   * Whether the thread's root is the bot's own post in the reply's room. A relation may name any
   * event id (homeservers do not check that it is in the same room), so a reply elsewhere naming a
   * forward would otherwise answer that letter in the department's name.
   */
  async function postedHereByBot({ roomId, eventId }: { roomId: string; eventId: string }): Promise<boolean> {
    try {
      const root = await persist('reading the thread root', () => homeserver.fetchEvent({ roomId, eventId }));
      return root.room_id === roomId && root.sender === botUserId;
    } catch (error) {
      if (error instanceof Stopping) throw error;
      // Not found in this room (M_NOT_FOUND) or out of reach for good: not an answer from here.
      return false;
    }
  }

  async function threadAnswer(event: MatrixEventFacts, { root, answerToken }: { root: string; answerToken: string }): Promise<void> {
    // A location or a poll in the thread carries nothing a letter can hold: it is conversation.
    if (writtenText(event.content).trim() === '' && !fileReferenceOf(event.content)) return;
    if (!(await postedHereByBot({ roomId: event.room_id, eventId: root }))) {
      logger.info({ phase: 'intake', event: event.event_id, room: event.room_id, thread: root }, 'reply ignored: the letter its thread names was not posted in this room');
      return;
    }
    await register({
      event,
      async build() {
        const attachments = await download([event]);
        return answerLetter({ event, answerToken, attachments, displayName: displayNameOf({ roomId: event.room_id, userId: event.sender }) });
      },
    });
  }

  async function handle(event: MatrixEventFacts): Promise<void> {
    const ignored = whyIgnored({ event, botUserId, joinedAt: joinedAt(event.room_id) });
    if (ignored === ENCRYPTED) return explainEncryption(event);
    if (ignored) {
      logger.trace({ phase: 'intake', event: event.event_id, ignored }, 'event ignored');
      return;
    }
    const command = parseCommand({ text: writtenText(event.content), prefix: config.commandPrefix });
    // Known before anything is fetched: after a restart the SDK is served each room's recent events again.
    const registered = await persist('looking the event up in the register', () => port.registeredFrom({ channel: 'matrix', senderId: event.sender, externalId: event.event_id }), {
      ...(command?.kind === 'send' ? { waiting: (error) => tellWaiting(event, error) } : {}),
    });
    if (registered) {
      logger.debug({ phase: 'intake', event: event.event_id, letter: registered, duplicate: true }, 'letter already registered');
      return;
    }
    const root = threadRootOf(event.content);
    if (command?.kind === 'send') return sendCommand(event, command);
    if (command?.kind === 'status') {
      // People type numbers in lower case too (2026-a-000012); numbers are registered in upper case.
      const letter = (await port.findLetter(command.number)) ?? (await port.findLetter(command.number.toUpperCase()));
      const text = statusText({ number: command.number, letter, askedBy: event.sender, language, timezone: settings.timezone });
      return answerOnce(event, text);
    }
    if (command) return answerOnce(event, helpText({ prefix: config.commandPrefix, departments: port.departments(), language }));
    const answerToken = root ? await port.answerTokenForThread('matrix', root) : undefined;
    if (root && answerToken) return threadAnswer(event, { root, answerToken });
  }

  function judgePending(): void {
    const batch = pending;
    pending = [];
    for (const event of batch) {
      if (inHand.has(event.event_id)) continue;
      inHand.add(event.event_id);
      track(handle(event).finally(() => inHand.delete(event.event_id)));
    }
  }

  async function acceptInvite({ roomId, inviter }: { roomId: string; inviter: string }): Promise<void> {
    if (!isAllowedInviter({ inviter, allowed: config.allowedInviters }) && !departmentRooms().has(roomId)) {
      logger.info({ phase: 'invite', room: roomId, inviter }, 'invite ignored: the inviter is not allowed');
      return;
    }
    await persist(`joining ${roomId}`, () => homeserver.join(roomId));
    logger.info({ phase: 'invite', room: roomId, inviter }, 'joined a room on invitation');
  }

  const onTimeline = (event: MatrixEvent, room: Room | undefined, toStartOfTimeline: boolean | undefined, removed: boolean) => {
    if (!running || toStartOfTimeline || removed || !room) return;
    pending.push(event.event as MatrixEventFacts);
  };

  const onTimelineReset = (room: Room | undefined) => {
    if (!running || !room) return;
    logger.warn({ phase: 'sync', room: room.roomId, limit: config.syncTimelineLimit }, 'more events in a room than one sync brings: earlier ones in that burst were not read');
  };

  const onMembership = (event: MatrixEvent, member: RoomMember) => {
    if (!running || member.userId !== botUserId || member.membership !== 'invite') return;
    track(acceptInvite({ roomId: member.roomId, inviter: event.getSender() ?? '' }));
  };

  const onSync = (state: SyncState, previous: SyncState | null, data?: SyncStateData) => {
    if (state === SyncState.Prepared || state === SyncState.Syncing) judgePending();
    if (state === SyncState.Error && previous !== SyncState.Error) {
      const error = data?.error;
      if (error && matrixFailure(error, 'sync').code === 'matrix.unauthorized') {
        logger.error({ phase: 'sync' }, 'the homeserver refuses the access token: Matrix intake has stopped (set WASL_MATRIX_ACCESS_TOKEN and restart)');
      } else {
        logger.warn({ phase: 'sync', err: error?.message }, 'the homeserver cannot be reached; sync keeps retrying');
      }
    }
    if (state === SyncState.Syncing && previous !== null && previous !== SyncState.Syncing && previous !== SyncState.Prepared) {
      logger.info({ phase: 'sync' }, 'sync with the homeserver resumed');
    }
  };

  return {
    async start(): Promise<void> {
      running = true;
      stopping = new AbortController();
      client.on(RoomEvent.Timeline, onTimeline);
      client.on(RoomEvent.TimelineReset, onTimelineReset);
      client.on(RoomMemberEvent.Membership, onMembership);
      client.on(ClientEvent.Sync, onSync);
      // Homeservers cut each room's timeline at the filter's limit (Synapse: 10 by default) and leave a
      // gap: a burst of letters would lose some. The same limit holds for the first sync after a start.
      const filter = new Filter(botUserId);
      filter.setDefinition({ room: { timeline: { limit: config.syncTimelineLimit } } });
      await client.startClient({ filter, initialSyncLimit: config.syncTimelineLimit, disablePresence: true, lazyLoadMembers: false, threadSupport: false });
    },
    /** After a successful send: if sync is waiting out an outage, try it now rather than after its back-off. */
    homeserverAnswered(): void {
      const state = client.getSyncState();
      if (state === SyncState.Error || state === SyncState.Reconnecting) client.retryImmediately();
    },
    async stop(): Promise<void> {
      running = false;
      stopping.abort();
      client.stopClient();
      client.off(RoomEvent.Timeline, onTimeline);
      client.off(RoomEvent.TimelineReset, onTimelineReset);
      client.off(RoomMemberEvent.Membership, onMembership);
      client.off(ClientEvent.Sync, onSync);
      pending = [];
      await Promise.allSettled([...inFlight]);
      // The next start (this gateway taking the sync's lease again) reads each room's recent events
      // anew, as a restarted gateway does: events dropped in hand by this stop are read again, and
      // the register knows those it has. The store is only the SDK's memory of this sync.
      await client.store.deleteAllData();
    },
  };
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(new Stopping());
      },
      { once: true },
    );
  });
}
