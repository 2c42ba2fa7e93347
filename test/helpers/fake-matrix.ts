/**
 * A Matrix homeserver for the tests, on 127.0.0.1, speaking the part of the Client-Server API
 * (spec v1.11) that matrix-js-sdk and the wasl adapter use: versions, capabilities, push rules,
 * filters, whoami, login, /sync with long-poll, invites and joins, sending with transaction ids,
 * single events, a room's state events, thread relations, and media upload and (authenticated) download.
 *
 * Rooms keep one ordered stream of events; a sync token is a position in it. Tests act as the
 * other people (`sendAs`, `invite`, `uploadAs`) and assert on what the homeserver received
 * (`eventsIn`, `requests`). It can be stopped and started again on the same port (a homeserver
 * down for a while), told to refuse requests (rate limits) or to hold them unanswered (a
 * homeserver that hangs), and told to deliver an event again. Every event served carries an
 * `unsigned.age` computed as it is served, as real homeservers do.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { deepMerge, startTestGateway, TEST_DEPARTMENTS, waitFor, type PartialConfig, type TestGateway } from './gateway.js';
import type { Logger } from 'pino';
import type { FlushToDisk } from '../../src/db/group-commit.js';

export const SERVER_NAME = 'hs.test';

export interface MatrixEvent {
  event_id: string;
  type: string;
  sender: string;
  room_id: string;
  origin_server_ts: number;
  content: Record<string, unknown>;
  state_key?: string;
  unsigned?: Record<string, unknown>;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  /** The user the access token belongs to, when one was given and is known. */
  userId: string | undefined;
  /** The access token itself: a user logged in twice (two gateways, one bot) has two. */
  token: string | undefined;
  body: unknown;
}

interface StreamItem {
  position: number;
  roomId: string;
  event: MatrixEvent;
  /** A redelivery of an event already sent: the sync that carries it says the timeline has a gap. */
  gap: boolean;
}

interface Media {
  contentType: string;
  filename: string | undefined;
  content: Buffer;
  uploader: string;
}

interface Refusal {
  match: (request: RecordedRequest) => boolean;
  status: number;
  body: Record<string, unknown>;
  remaining: number;
}

export interface FakeMatrix {
  readonly url: string;
  readonly port: number;
  readonly requests: RecordedRequest[];
  /** Registers a user and returns its access token. */
  addUser(userId: string, options?: { token?: string; displayName?: string }): string;
  createRoom(input: { creator: string; members?: string[]; name?: string; roomId?: string }): string;
  invite(input: { roomId: string; inviter: string; invitee: string }): string;
  /** A message, or a state event with `stateKey` (m.room.encryption: the room is encrypted from then on). */
  sendAs(input: { roomId: string; sender: string; content: Record<string, unknown>; type?: string; stateKey?: string }): string;
  uploadAs(input: { uploader: string; content: Buffer; contentType: string; filename?: string }): string;
  /** Puts an event already sent into the stream again, as a gappy sync would (`limited: true`). */
  redeliver(eventId: string): void;
  /**
   * From now on serves every event as the homeserver would later on: `ageMs` older in its
   * `unsigned.age`, and with these top-level fields added (what a homeserver adds beside the
   * signed event is its own).
   */
  serveChanged(input: { ageMs: number; fields?: Record<string, unknown> }): void;
  eventsIn(roomId: string): MatrixEvent[];
  membership(roomId: string, userId: string): string | undefined;
  media(mxc: string): Media | undefined;
  /** Answers the next `times` requests that match with this status and Matrix error body. */
  refuse(input: { match: (request: RecordedRequest) => boolean; status: number; body: Record<string, unknown>; times?: number }): void;
  /** Leaves the requests that match unanswered until `release`, which then handles them as usual. */
  hold(match: (request: RecordedRequest) => boolean): { held(): number; release(): void };
  stop(): Promise<void>;
  start(): Promise<void>;
}

const CLIENT = '/_matrix/client/';

export async function startFakeMatrix({ port = 0 }: { port?: number } = {}): Promise<FakeMatrix> {
  const tokens = new Map<string, string>();
  const displayNames = new Map<string, string>();
  const stream: StreamItem[] = [];
  const eventsById = new Map<string, MatrixEvent>();
  const transactions = new Map<string, string>();
  const filters = new Map<string, unknown>();
  const mediaStore = new Map<string, Media>();
  const refusals: Refusal[] = [];
  const holds: { match: (request: RecordedRequest) => boolean; waiting: (() => void)[] | undefined }[] = [];
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  let waiters: (() => void)[] = [];
  let counter = 0;
  let server: Server | undefined;
  let boundPort = port;
  let servedLater: { ageMs: number; fields: Record<string, unknown> } = { ageMs: 0, fields: {} };

  const nextId = (prefix: string) => `${prefix}${++counter}_${randomBytes(4).toString('hex')}`;
  const position = () => stream.length;

  function append({ roomId, event, gap = false }: { roomId: string; event: MatrixEvent; gap?: boolean }): void {
    stream.push({ position: stream.length + 1, roomId, event, gap });
    const current = waiters;
    waiters = [];
    for (const wake of current) wake();
  }

  function memberContent(userId: string, membership: string): Record<string, unknown> {
    const displayname = displayNames.get(userId);
    return displayname ? { membership, displayname } : { membership };
  }

  function newEvent({ roomId, sender, type, content, stateKey }: { roomId: string; sender: string; type: string; content: Record<string, unknown>; stateKey?: string }): MatrixEvent {
    // Strictly increasing server timestamps, as one homeserver's clock gives them.
    const last = stream.at(-1)?.event.origin_server_ts ?? 0;
    const event: MatrixEvent = {
      event_id: nextId('$ev'),
      type,
      sender,
      room_id: roomId,
      origin_server_ts: Math.max(Date.now(), last + 1),
      content,
      ...(stateKey === undefined ? {} : { state_key: stateKey }),
    };
    const previous = stateKey === undefined ? undefined : stateAt({ roomId, upTo: position() }).get(`${type}\u0000${stateKey}`);
    if (previous) event.unsigned = { prev_content: previous.content };
    eventsById.set(event.event_id, event);
    append({ roomId, event });
    return event;
  }

  /** The event as a client gets it: `unsigned.age` is the time since it was sent, at the moment it is served (spec: "unsigned"). */
  function served(event: MatrixEvent): MatrixEvent {
    const age = Date.now() - event.origin_server_ts + servedLater.ageMs;
    return { ...servedLater.fields, ...event, unsigned: { ...event.unsigned, age } };
  }

  function roomItems(roomId: string, upTo = position()): StreamItem[] {
    return stream.filter((item) => item.roomId === roomId && item.position <= upTo);
  }

  function stateAt({ roomId, upTo }: { roomId: string; upTo: number }): Map<string, MatrixEvent> {
    const state = new Map<string, MatrixEvent>();
    for (const { event } of roomItems(roomId, upTo)) {
      if (event.state_key !== undefined) state.set(`${event.type}\u0000${event.state_key}`, event);
    }
    return state;
  }

  function membershipAt({ roomId, userId, upTo = position() }: { roomId: string; userId: string; upTo?: number }): MatrixEvent | undefined {
    return stateAt({ roomId, upTo }).get(`m.room.member\u0000${userId}`);
  }

  function roomIds(): string[] {
    return [...new Set(stream.map((item) => item.roomId))];
  }

  function timelineLimit(filterParameter: string | null, userId: string): number {
    if (!filterParameter) return 10;
    const definition = (filterParameter.startsWith('{') ? JSON.parse(filterParameter) : filters.get(`${userId}/${filterParameter}`)) as
      | { room?: { timeline?: { limit?: number } } }
      | undefined;
    return definition?.room?.timeline?.limit ?? 10;
  }

  /** A joined room as /sync shows it: full state before the timeline slice when the room is new to the client. */
  function joinedRoom({ roomId, since, limit }: { roomId: string; since: number; limit: number }) {
    const items = roomItems(roomId).filter((item) => item.position > since);
    const slice = items.slice(-limit);
    const limited = items.length > slice.length || slice.some((item) => item.gap);
    const firstPosition = slice[0]?.position ?? position() + 1;
    const fresh = since === 0 || limited;
    const state = fresh ? [...stateAt({ roomId, upTo: firstPosition - 1 }).values()].map(served) : [];
    return {
      timeline: { events: slice.map((item) => served(item.event)), limited, prev_batch: `s${Math.max(0, firstPosition - 1)}` },
      state: { events: state },
      ephemeral: { events: [] },
      account_data: { events: [] },
      unread_notifications: { notification_count: 0, highlight_count: 0 },
    };
  }

  function syncResponse({ userId, since, limit }: { userId: string; since: number; limit: number }) {
    const join: Record<string, unknown> = {};
    const invite: Record<string, unknown> = {};
    const leave: Record<string, unknown> = {};
    for (const roomId of roomIds()) {
      const member = membershipAt({ roomId, userId });
      if (!member) continue;
      const memberItem = stream.find((item) => item.event === member)!;
      const changed = roomItems(roomId).some((item) => item.position > since);
      if (!changed) continue;
      const membership = member.content.membership;
      if (membership === 'join') {
        // A room joined after `since` is new to the client: it gets it whole, as Synapse does.
        join[roomId] = joinedRoom({ roomId, since: memberItem.position > since ? 0 : since, limit });
      } else if (membership === 'invite' && memberItem.position > since) {
        const stripped = [...stateAt({ roomId, upTo: position() }).values()]
          .filter((event) => ['m.room.create', 'm.room.name', 'm.room.join_rules'].includes(event.type) || event === member)
          .map(({ type, state_key, content, sender }) => ({ type, state_key, content, sender }));
        invite[roomId] = { invite_state: { events: stripped } };
      } else if (membership === 'leave' && memberItem.position > since && since > 0) {
        leave[roomId] = joinedRoom({ roomId, since, limit });
      }
    }
    const empty = Object.keys(join).length + Object.keys(invite).length + Object.keys(leave).length === 0;
    return { empty, body: { next_batch: `s${position()}`, rooms: { join, invite, leave }, account_data: { events: [] }, presence: { events: [] }, to_device: { events: [] } } };
  }

  function send(response: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    response.end(text);
  }

  const matrixError = (response: ServerResponse, status: number, errcode: string, error: string) => send(response, status, { errcode, error });

  async function readBody(request: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  function accessToken(request: IncomingMessage, query: URLSearchParams): string | undefined {
    const header = request.headers.authorization;
    if (header?.startsWith('Bearer ')) return header.slice(7);
    return query.get('access_token') ?? undefined;
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const token = accessToken(request, url.searchParams);
    const userId = token ? tokens.get(token) : undefined;
    const raw = request.method === 'GET' ? Buffer.alloc(0) : await readBody(request);
    const isJson = (request.headers['content-type'] ?? '').includes('json');
    const body = isJson && raw.length > 0 ? (JSON.parse(raw.toString('utf8')) as unknown) : raw.length > 0 ? raw : undefined;
    const recorded: RecordedRequest = { method: request.method ?? 'GET', path, query: url.searchParams, userId, token, body };
    requests.push(recorded);

    const refusal = refusals.find((candidate) => candidate.remaining > 0 && candidate.match(recorded));
    if (refusal) {
      refusal.remaining -= 1;
      return send(response, refusal.status, refusal.body);
    }
    const hold = holds.find((candidate) => candidate.waiting && candidate.match(recorded));
    if (hold) await new Promise<void>((resolve) => hold.waiting!.push(resolve));

    if (path === `${CLIENT}versions`) {
      return send(response, 200, { versions: ['v1.1', 'v1.2', 'v1.3', 'v1.4', 'v1.5', 'v1.6', 'v1.7', 'v1.8', 'v1.9', 'v1.10', 'v1.11'], unstable_features: {} });
    }
    if (path === `${CLIENT}v3/login` && request.method === 'POST') {
      const login = body as { identifier?: { user?: string }; user?: string; password?: string };
      const name = login.identifier?.user ?? login.user ?? '';
      const user = name.startsWith('@') ? name : `@${name}:${SERVER_NAME}`;
      if (![...tokens.values()].includes(user) || login.password !== 'password') return matrixError(response, 403, 'M_FORBIDDEN', 'Invalid username or password');
      const newToken = `syt_${randomBytes(12).toString('hex')}`;
      tokens.set(newToken, user);
      return send(response, 200, { user_id: user, access_token: newToken, device_id: 'WASLTEST', home_server: SERVER_NAME });
    }
    if (!userId) return matrixError(response, 401, token ? 'M_UNKNOWN_TOKEN' : 'M_MISSING_TOKEN', 'Unrecognised access token');

    let match: RegExpExecArray | null;
    if (path === `${CLIENT}v3/account/whoami`) return send(response, 200, { user_id: userId, device_id: 'WASLTEST', is_guest: false });
    if (path === `${CLIENT}v3/capabilities`) {
      return send(response, 200, { capabilities: { 'm.change_password': { enabled: false }, 'm.room_versions': { default: '10', available: { '10': 'stable' } } } });
    }
    if (path.startsWith(`${CLIENT}v3/pushrules`)) {
      return send(response, 200, { global: { override: [], content: [], room: [], sender: [], underride: [] } });
    }
    if ((match = /^\/_matrix\/client\/v3\/user\/([^/]+)\/filter(?:\/([^/]+))?$/.exec(path))) {
      if (request.method === 'POST') {
        const filterId = String(filters.size + 1);
        filters.set(`${userId}/${filterId}`, body);
        return send(response, 200, { filter_id: filterId });
      }
      const stored = filters.get(`${userId}/${decodeURIComponent(match[2] ?? '')}`);
      return stored ? send(response, 200, stored) : matrixError(response, 404, 'M_NOT_FOUND', 'No such filter');
    }
    if (path === `${CLIENT}v3/sync`) return sync({ request, response, userId, query: url.searchParams });
    if ((match = /^\/_matrix\/client\/v3\/(?:join|rooms)\/([^/]+)(?:\/join)?$/.exec(path)) && request.method === 'POST') {
      const roomId = decodeURIComponent(match[1]!);
      const member = membershipAt({ roomId, userId });
      if (member?.content.membership !== 'invite' && member?.content.membership !== 'join') {
        return matrixError(response, 403, 'M_FORBIDDEN', 'You are not invited to this room.');
      }
      if (member.content.membership === 'invite') newEvent({ roomId, sender: userId, type: 'm.room.member', content: memberContent(userId, 'join'), stateKey: userId });
      return send(response, 200, { room_id: roomId });
    }
    if ((match = /^\/_matrix\/client\/v3\/rooms\/([^/]+)\/send\/([^/]+)\/([^/]+)$/.exec(path)) && request.method === 'PUT') {
      const [roomId, type, txnId] = [match[1]!, match[2]!, match[3]!].map(decodeURIComponent) as [string, string, string];
      if (membershipAt({ roomId, userId })?.content.membership !== 'join') return matrixError(response, 403, 'M_FORBIDDEN', 'User not in room');
      // Sending is idempotent per access token and transaction id (spec: "Transaction identifiers").
      const key = `${token}\u0000${roomId}\u0000${txnId}`;
      const known = transactions.get(key);
      if (known) return send(response, 200, { event_id: known });
      const event = newEvent({ roomId, sender: userId, type, content: body as Record<string, unknown> });
      event.unsigned = { ...event.unsigned, transaction_id: txnId };
      transactions.set(key, event.event_id);
      return send(response, 200, { event_id: event.event_id });
    }
    if ((match = /^\/_matrix\/client\/v3\/rooms\/([^/]+)\/state\/([^/]+)\/?([^/]*)$/.exec(path)) && request.method === 'GET') {
      const [roomId, type, stateKey] = [match[1]!, match[2]!, match[3]!].map(decodeURIComponent) as [string, string, string];
      if (membershipAt({ roomId, userId })?.content.membership !== 'join') return matrixError(response, 403, 'M_FORBIDDEN', 'User not in room');
      const event = stateAt({ roomId, upTo: position() }).get(`${type}\u0000${stateKey}`);
      return event ? send(response, 200, event.content) : matrixError(response, 404, 'M_NOT_FOUND', 'Event not found');
    }
    if ((match = /^\/_matrix\/client\/v3\/rooms\/([^/]+)\/event\/([^/]+)$/.exec(path))) {
      const event = eventsById.get(decodeURIComponent(match[2]!));
      const roomId = decodeURIComponent(match[1]!);
      if (!event || event.room_id !== roomId || membershipAt({ roomId, userId })?.content.membership !== 'join') {
        return matrixError(response, 404, 'M_NOT_FOUND', 'Event not found');
      }
      return send(response, 200, served(event));
    }
    if ((match = /^\/_matrix\/client\/v1\/rooms\/([^/]+)\/relations\/([^/]+)(?:\/([^/]+))?(?:\/([^/]+))?$/.exec(path))) {
      const roomId = decodeURIComponent(match[1]!);
      const parent = decodeURIComponent(match[2]!);
      const relType = match[3] ? decodeURIComponent(match[3]) : undefined;
      const eventType = match[4] ? decodeURIComponent(match[4]) : undefined;
      if (membershipAt({ roomId, userId })?.content.membership !== 'join') return matrixError(response, 403, 'M_FORBIDDEN', 'User not in room');
      const related = [...eventsById.values()].filter((event) => {
        const relation = event.content['m.relates_to'] as { event_id?: string; rel_type?: string } | undefined;
        return event.room_id === roomId && relation?.event_id === parent && (!relType || relation.rel_type === relType) && (!eventType || event.type === eventType);
      });
      const chunk = (url.searchParams.get('dir') === 'f' ? related : related.reverse()).map(served);
      return send(response, 200, { chunk });
    }
    if (path === '/_matrix/media/v3/upload' && request.method === 'POST') {
      const mediaId = nextId('m');
      mediaStore.set(mediaId, {
        contentType: request.headers['content-type'] ?? 'application/octet-stream',
        filename: url.searchParams.get('filename') ?? undefined,
        content: raw,
        uploader: userId,
      });
      return send(response, 200, { content_uri: `mxc://${SERVER_NAME}/${mediaId}` });
    }
    if ((match = /^\/_matrix\/client\/v1\/media\/download\/([^/]+)\/([^/]+)/.exec(path))) {
      const media = match[1] === SERVER_NAME ? mediaStore.get(decodeURIComponent(match[2]!)) : undefined;
      if (!media) return matrixError(response, 404, 'M_NOT_FOUND', 'Not found');
      response.writeHead(200, { 'content-type': media.contentType, 'content-length': media.content.length });
      response.end(media.content);
      return;
    }
    return matrixError(response, 404, 'M_UNRECOGNIZED', 'Unrecognized request');
  }

  async function sync({ request, response, userId, query }: { request: IncomingMessage; response: ServerResponse; userId: string; query: URLSearchParams }): Promise<void> {
    const since = Number((query.get('since') ?? 's0').slice(1));
    const limit = timelineLimit(query.get('filter'), userId);
    const timeoutMs = Math.min(Number(query.get('timeout') ?? 0), 30_000);
    let result = syncResponse({ userId, since, limit });
    if (result.empty && since > 0 && timeoutMs > 0) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          request.socket.off('close', wake);
          resolve();
        };
        const timer = setTimeout(wake, timeoutMs);
        waiters.push(wake);
        // The client gave up or the server is being stopped: nobody waits for an answer any more.
        request.socket.once('close', wake);
      });
      if (request.socket.destroyed) return;
      result = syncResponse({ userId, since, limit });
    }
    send(response, 200, result.body);
  }

  async function start(): Promise<void> {
    server = createServer((request, response) => {
      handle(request, response).catch((error: unknown) => {
        if (!response.headersSent) matrixError(response, 500, 'M_UNKNOWN', String(error));
      });
    });
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server!.listen(boundPort, '127.0.0.1', resolve));
    const address = server.address();
    boundPort = typeof address === 'object' && address ? address.port : boundPort;
  }

  await start();

  const fake: FakeMatrix = {
    get url() {
      return `http://127.0.0.1:${boundPort}`;
    },
    get port() {
      return boundPort;
    },
    requests,
    addUser(userId, { token = `syt_${randomBytes(12).toString('hex')}`, displayName } = {}) {
      tokens.set(token, userId);
      if (displayName) displayNames.set(userId, displayName);
      return token;
    },
    createRoom({ creator, members = [], name, roomId = `!${nextId('room')}:${SERVER_NAME}` }) {
      newEvent({ roomId, sender: creator, type: 'm.room.create', content: { creator, room_version: '10' }, stateKey: '' });
      newEvent({ roomId, sender: creator, type: 'm.room.member', content: memberContent(creator, 'join'), stateKey: creator });
      newEvent({ roomId, sender: creator, type: 'm.room.join_rules', content: { join_rule: 'invite' }, stateKey: '' });
      if (name) newEvent({ roomId, sender: creator, type: 'm.room.name', content: { name }, stateKey: '' });
      for (const member of members) newEvent({ roomId, sender: member, type: 'm.room.member', content: memberContent(member, 'join'), stateKey: member });
      return roomId;
    },
    invite({ roomId, inviter, invitee }) {
      return newEvent({ roomId, sender: inviter, type: 'm.room.member', content: memberContent(invitee, 'invite'), stateKey: invitee }).event_id;
    },
    sendAs({ roomId, sender, content, type = 'm.room.message', stateKey }) {
      return newEvent({ roomId, sender, type, content, ...(stateKey === undefined ? {} : { stateKey }) }).event_id;
    },
    uploadAs({ uploader, content, contentType, filename }) {
      const mediaId = nextId('m');
      mediaStore.set(mediaId, { contentType, filename, content, uploader });
      return `mxc://${SERVER_NAME}/${mediaId}`;
    },
    redeliver(eventId) {
      const event = eventsById.get(eventId);
      if (!event) throw new Error(`no event ${eventId}`);
      append({ roomId: event.room_id, event, gap: true });
    },
    serveChanged({ ageMs, fields = {} }) {
      servedLater = { ageMs, fields };
    },
    eventsIn: (roomId) => roomItems(roomId).filter((item) => !item.gap).map((item) => item.event),
    membership: (roomId, userId) => membershipAt({ roomId, userId })?.content.membership as string | undefined,
    media(mxc) {
      const match = /^mxc:\/\/([^/]+)\/(.+)$/.exec(mxc);
      return match?.[1] === SERVER_NAME ? mediaStore.get(match[2]!) : undefined;
    },
    refuse({ match, status, body, times = 1 }) {
      refusals.push({ match, status, body, remaining: times });
    },
    hold(match) {
      const hold = { match, waiting: [] as (() => void)[] | undefined };
      holds.push(hold);
      return {
        held: () => hold.waiting?.length ?? 0,
        release() {
          const waiting = hold.waiting ?? [];
          hold.waiting = undefined;
          for (const resume of waiting) resume();
        },
      };
    },
    async stop() {
      const current = server;
      server = undefined;
      if (!current) return;
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => current.close(() => resolve()));
    },
    start,
  };
  return fake;
}

/** What a message event says, for assertions. */
export function bodyOf(event: MatrixEvent): string {
  return String(event.content.body ?? '');
}

/** The thread an event belongs to (its m.thread relation), if any. */
export function threadOf(event: MatrixEvent): string | undefined {
  const relation = event.content['m.relates_to'] as { rel_type?: string; event_id?: string } | undefined;
  return relation?.rel_type === 'm.thread' ? relation.event_id : undefined;
}

/** The messages a user posted in a room, oldest first. */
export function notices({ fake, roomId, sender }: { fake: FakeMatrix; roomId: string; sender: string }): MatrixEvent[] {
  return fake.eventsIn(roomId).filter((event) => event.sender === sender && event.type === 'm.room.message');
}

export const BOT = `@courrier:${SERVER_NAME}`;
export const BOT_TOKEN = 'syt_bot_token_for_tests';

export interface MatrixWorld {
  fake: FakeMatrix;
  gateway: TestGateway;
  bot: string;
  /** Amina, who writes to the administration from her own room with the bot. */
  citizen: string;
  citizenRoom: string;
  /** Someone of the RH department, in the department's room. */
  agent: string;
  rhRoom: string;
  matrixEnv: Record<string, string>;
  /** Waits until the bot has posted at least `count` messages in the room (in one thread if given). */
  waitForNotices(roomId: string, count: number, options?: { thread?: string; timeoutMs?: number }): Promise<MatrixEvent[]>;
  stop(): Promise<void>;
}

/**
 * A homeserver with two rooms the bot was invited to (a citizen's room, the RH department's room),
 * and a gateway whose Matrix channel points at it. RH gets its letters in its room and by email.
 */
export async function startMatrixWorld({
  config = {},
  env = {},
  flushToDisk,
  logger,
}: { config?: PartialConfig; env?: Record<string, string>; flushToDisk?: FlushToDisk; logger?: Logger } = {}): Promise<MatrixWorld> {
  const fake = await startFakeMatrix();
  const citizen = `@amina:${SERVER_NAME}`;
  const agent = `@rh-agent:${SERVER_NAME}`;
  fake.addUser(BOT, { token: BOT_TOKEN, displayName: 'Courrier' });
  fake.addUser(citizen, { displayName: 'Amina' });
  fake.addUser(agent, { displayName: 'Service RH' });
  const citizenRoom = fake.createRoom({ creator: citizen, name: 'Amina et le bureau d’ordre' });
  fake.invite({ roomId: citizenRoom, inviter: citizen, invitee: BOT });
  const rhRoom = fake.createRoom({ creator: agent, name: 'RH – courrier' });
  fake.invite({ roomId: rhRoom, inviter: agent, invitee: BOT });

  const departments = TEST_DEPARTMENTS.map((department) =>
    department.code === 'RH' ? { ...department, channels: { ...department.channels, matrix: [rhRoom] } } : department,
  );
  const matrixEnv = { WASL_MATRIX_HOMESERVER_URL: fake.url, WASL_MATRIX_USER_ID: BOT, WASL_MATRIX_ACCESS_TOKEN: BOT_TOKEN };
  const gateway = await startTestGateway({
    config: deepMerge({ departments, adapters: { matrix: { allowedInviters: [SERVER_NAME] } } }, config),
    env: { ...matrixEnv, ...env },
    flushToDisk,
    logger,
  });
  await waitFor(() => fake.membership(citizenRoom, BOT) === 'join' && fake.membership(rhRoom, BOT) === 'join', { what: 'the bot joining its rooms' });

  return {
    fake,
    gateway,
    bot: BOT,
    citizen,
    citizenRoom,
    agent,
    rhRoom,
    matrixEnv,
    async waitForNotices(roomId, count, { thread, timeoutMs = 10_000 } = {}) {
      const matching = () => notices({ fake, roomId, sender: BOT }).filter((event) => thread === undefined || threadOf(event) === thread);
      await waitFor(() => matching().length >= count, { timeoutMs, what: `${count} message(s) from the bot in ${roomId}${thread ? ` thread ${thread}` : ''}` });
      return matching();
    },
    async stop() {
      await gateway.stop();
      await fake.stop();
    },
  };
}
