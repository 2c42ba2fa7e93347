/**
 * A stand-in for Slack on 127.0.0.1, for tests: the Web API methods wasl calls (auth.test,
 * users.info, chat.postMessage, chat.update, chat.postEphemeral, views.open, files.info and the
 * external upload flow), the file downloads and upload URLs those methods hand out, and the
 * `response_url`s of slash commands. Every call is recorded so tests assert on what Slack would
 * have received. It can be told to answer 429 with Retry-After or 5xx, or be stopped and started
 * again on the same port, to play a Slack that is rate limiting or down. For Socket Mode it
 * hands out a WebSocket URL (apps.connections.open) and sends envelopes over it.
 *
 * `signedRequest` sends requests to our receiver signed exactly as Slack signs them:
 * `v0=` HMAC-SHA256(signing secret, `v0:{timestamp}:{body}`) in X-Slack-Signature, with the
 * timestamp in X-Slack-Request-Timestamp (https://docs.slack.dev/authentication/verifying-requests-from-slack).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
// ws comes with @slack/socket-mode (Bolt's Socket Mode client speaks it on the other end).
import { WebSocketServer, type WebSocket } from 'ws';
import { waitFor } from './wait.js';

export interface SlackCall {
  method: string;
  /** Form or JSON arguments; values Slack receives as JSON strings (blocks, view, metadata) are parsed. */
  args: Record<string, unknown>;
  /** The bearer token the call carried. */
  token: string | undefined;
  /** What the fake answered (a posted message's `channel` and `ts`, an opened view's `id`). */
  result?: Record<string, unknown>;
}

export interface ResponseUrlPost {
  id: string;
  body: Record<string, unknown>;
}

export interface UploadedFile {
  id: string;
  filename: string;
  content: Buffer;
  /** Set once files.completeUploadExternal shared it. */
  channel?: string;
  threadTs?: string;
}

export interface FakeUser {
  id: string;
  name: string;
  realName?: string;
  locale?: string;
}

/** A failure to play on the next matching calls. */
export interface Failure {
  /** Only calls to this method (`files.download` for file downloads); all methods when absent. */
  method?: string;
  times: number;
  /** 429 with Retry-After, a 5xx, or 200 with `ok: false`. */
  status?: number;
  retryAfterSeconds?: number;
  platformError?: string;
}

export interface FakeSlack {
  readonly port: number;
  /** The Web API base for WebClient's `slackApiUrl` (WASL_SLACK_API_URL). */
  readonly apiUrl: string;
  readonly calls: SlackCall[];
  readonly responses: ResponseUrlPost[];
  readonly uploads: Map<string, UploadedFile>;
  /** Calls answered with an error or refused by a failure played. */
  readonly failed: SlackCall[];
  callsTo(method: string): SlackCall[];
  waitForCalls(method: string, count?: number, options?: { timeoutMs?: number }): Promise<SlackCall[]>;
  waitForResponses(count?: number): Promise<ResponseUrlPost[]>;
  /** A fresh response_url, as Slack puts in each slash command and interaction. */
  responseUrl(): string;
  addUser(user: FakeUser): void;
  /** A file as a person uploaded it: Slack's file object, whose download needs the bot token. */
  addFile(input: { name: string; mimetype: string; content: Buffer }): Record<string, unknown>;
  fail(failure: Failure): void;
  /**
   * Socket Mode: sends one envelope (`events_api`, `slash_commands`, `interactive`) over the
   * WebSocket the app opened with apps.connections.open, and resolves with the app's ack.
   */
  sendEnvelope(input: { type: string; payload: Record<string, unknown> }): Promise<Record<string, unknown>>;
  /** Socket Mode connections open now. */
  readonly openSockets: number;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export const FAKE_TEAM = 'T0WASL';
export const FAKE_BOT_USER = 'U0BOT';
export const FAKE_BOT_ID = 'B0BOT';

/** Slack sends JSON inside form fields for these arguments. */
const JSON_ARGUMENTS = new Set(['blocks', 'view', 'metadata', 'attachments', 'files']);

function parseArguments(text: string, contentType: string): Record<string, unknown> {
  if (contentType.startsWith('application/json')) return JSON.parse(text || '{}') as Record<string, unknown>;
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    args[key] = JSON_ARGUMENTS.has(key) ? JSON.parse(value) : value;
  }
  return args;
}

/** The file part of a multipart/form-data body (the client posts uploads that way). */
function multipartContent(body: Buffer, contentType: string): Buffer {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/.exec(contentType);
  if (!boundary) return body;
  const delimiter = Buffer.from(`--${boundary[1] ?? boundary[2]}`);
  const start = body.indexOf(delimiter);
  const headerEnd = body.indexOf('\r\n\r\n', start);
  const end = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headerEnd);
  return body.subarray(headerEnd + 4, end);
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

export async function startFakeSlack({ port = 0, botToken = 'xoxb-test-token', appToken = 'xapp-test-token' }: { port?: number; botToken?: string; appToken?: string } = {}): Promise<FakeSlack> {
  const calls: SlackCall[] = [];
  const failed: SlackCall[] = [];
  const responses: ResponseUrlPost[] = [];
  const uploads = new Map<string, UploadedFile>();
  const files = new Map<string, { object: Record<string, unknown>; content: Buffer }>();
  const users = new Map<string, FakeUser>();
  const failures: Failure[] = [];
  let boundPort = port;
  let server: Server | undefined;
  let sequence = 0;
  let clock = 1_760_000_000;
  const sockets = new WebSocketServer({ noServer: true });
  const acks = new Map<string, (payload: Record<string, unknown>) => void>();
  let socket: WebSocket | undefined;
  sockets.on('connection', (connection) => {
    socket = connection;
    // Envelopes go to the app's connection that is open: one that closed takes none.
    connection.once('close', () => {
      if (socket === connection) socket = undefined;
    });
    connection.on('message', (data) => {
      const message = JSON.parse(String(data)) as { envelope_id: string; payload?: Record<string, unknown> };
      acks.get(message.envelope_id)?.(message.payload ?? {});
      acks.delete(message.envelope_id);
    });
    connection.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0WASL' } }));
  });

  const base = () => `http://127.0.0.1:${boundPort}`;
  const nextId = (prefix: string) => `${prefix}${(++sequence).toString().padStart(6, '0')}`;
  /** Message timestamps are unique and increasing, as Slack's are. */
  const nextTs = () => `${++clock}.${(sequence++).toString().padStart(6, '0')}`;

  function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    response.end(JSON.stringify(body));
  }

  function failureFor(method: string): Failure | undefined {
    const failure = failures.find((candidate) => candidate.times > 0 && (!candidate.method || candidate.method === method));
    if (failure) failure.times -= 1;
    return failure;
  }

  function fileObject(id: string, name: string, mimetype: string, size: number) {
    return { id, name, title: name, mimetype, size, url_private: `${base()}/files-pri/${id}/${encodeURIComponent(name)}`, url_private_download: `${base()}/files-pri/${id}/download/${encodeURIComponent(name)}` };
  }

  /** The Web API: each method answers as Slack documents it, with the fields wasl reads. */
  function answer(method: string, args: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'apps.connections.open':
        return { ok: true, url: `ws://127.0.0.1:${boundPort}/link/?ticket=${nextId('t')}` };
      case 'auth.test':
        return { ok: true, url: 'https://wasl-test.slack.com/', team: 'wasl test', user: 'wasl', team_id: FAKE_TEAM, user_id: FAKE_BOT_USER, bot_id: FAKE_BOT_ID };
      case 'users.info': {
        const user = users.get(String(args.user));
        if (!user) return { ok: false, error: 'user_not_found' };
        return { ok: true, user: { id: user.id, name: user.name, real_name: user.realName ?? user.name, locale: user.locale, profile: { display_name: '', real_name: user.realName ?? user.name } } };
      }
      case 'chat.postMessage': {
        const channel = String(args.channel);
        // Posting to a user id opens the app's direct message with them.
        const conversation = channel.startsWith('U') ? `D${channel.slice(1)}` : channel;
        const ts = nextTs();
        return { ok: true, channel: conversation, ts, message: { type: 'message', text: args.text, user: FAKE_BOT_USER, bot_id: FAKE_BOT_ID, ts, thread_ts: args.thread_ts, blocks: args.blocks } };
      }
      case 'chat.update':
        return { ok: true, channel: args.channel, ts: args.ts, text: args.text };
      case 'chat.postEphemeral':
        return { ok: true, message_ts: nextTs() };
      case 'views.open':
        return { ok: true, view: { ...(args.view as object), id: nextId('V'), hash: nextId('h') } };
      case 'files.info': {
        const file = files.get(String(args.file));
        return file ? { ok: true, file: file.object } : { ok: false, error: 'file_not_found' };
      }
      case 'files.getUploadURLExternal': {
        const id = nextId('F');
        uploads.set(id, { id, filename: String(args.filename), content: Buffer.alloc(0) });
        return { ok: true, upload_url: `${base()}/upload/${id}`, file_id: id };
      }
      case 'files.completeUploadExternal': {
        const listed = args.files as { id: string; title?: string }[];
        for (const entry of listed) {
          const upload = uploads.get(entry.id);
          if (!upload) return { ok: false, error: 'file_not_found' };
          upload.channel = args.channel_id as string | undefined;
          upload.threadTs = args.thread_ts as string | undefined;
        }
        return { ok: true, files: listed.map((entry) => ({ id: entry.id, title: entry.title ?? uploads.get(entry.id)!.filename })) };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', base());
    const body = await readBody(request);
    const contentType = request.headers['content-type'] ?? '';
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];

    const upload = /^\/upload\/(F\d+)$/.exec(url.pathname);
    if (upload) {
      const record = uploads.get(upload[1]!);
      if (!record) return json(response, 404, { ok: false });
      record.content = multipartContent(body, contentType);
      response.writeHead(200, { 'content-type': 'text/plain' }).end(`OK - ${record.content.length}`);
      return;
    }
    const download = /^\/files-pri\/(F\d+)\//.exec(url.pathname);
    if (download) {
      const failure = failureFor('files.download');
      if (failure) return void response.writeHead(failure.status ?? 503, { 'content-type': 'text/html' }).end('<html>Slack is down</html>');
      const file = files.get(download[1]!);
      // Slack answers a download without the right token with its sign-in page, not a 401.
      if (!file || token !== botToken) return void response.writeHead(200, { 'content-type': 'text/html' }).end('<html>sign in</html>');
      response.writeHead(200, { 'content-type': String(file.object.mimetype) }).end(file.content);
      return;
    }
    const respond = /^\/respond\/(\w+)$/.exec(url.pathname);
    if (respond) {
      responses.push({ id: respond[1]!, body: JSON.parse(body.toString('utf8')) as Record<string, unknown> });
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      return;
    }
    const method = /^\/api\/([\w.]+)$/.exec(url.pathname)?.[1];
    if (!method) return json(response, 404, { ok: false, error: 'not_found' });
    const call: SlackCall = { method, args: parseArguments(body.toString('utf8'), contentType), token };
    const failure = failureFor(method);
    if (failure) {
      failed.push(call);
      if (failure.status === 429) return json(response, 429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(failure.retryAfterSeconds ?? 1) });
      if (failure.status && failure.status !== 200) return void response.writeHead(failure.status, { 'content-type': 'text/html' }).end('<html>Slack is down</html>');
      return json(response, 200, { ok: false, error: failure.platformError ?? 'internal_error' });
    }
    if (method !== 'auth.test' && token !== (method === 'apps.connections.open' ? appToken : botToken)) {
      failed.push(call);
      return json(response, 200, { ok: false, error: 'invalid_auth' });
    }
    call.result = answer(method, call.args);
    calls.push(call);
    json(response, 200, call.result);
  }

  const fake: FakeSlack = {
    get port() {
      return boundPort;
    },
    get apiUrl() {
      return `${base()}/api/`;
    },
    calls,
    responses,
    uploads,
    failed,
    callsTo: (method) => calls.filter((call) => call.method === method),
    async waitForCalls(method, count = 1, { timeoutMs = 10_000 } = {}) {
      await waitFor(() => fake.callsTo(method).length >= count, { timeoutMs, what: `${count} call(s) to ${method}` });
      return fake.callsTo(method);
    },
    async waitForResponses(count = 1) {
      await waitFor(() => responses.length >= count, { what: `${count} post(s) to a response_url` });
      return responses;
    },
    responseUrl: () => `${base()}/respond/${randomBytes(6).toString('hex')}`,
    addUser: (user) => users.set(user.id, user),
    addFile({ name, mimetype, content }) {
      const id = nextId('F');
      const object = fileObject(id, name, mimetype, content.length);
      files.set(id, { object, content });
      return object;
    },
    fail: (failure) => failures.push({ ...failure }),
    get openSockets() {
      return sockets.clients.size;
    },
    async sendEnvelope({ type, payload }) {
      await waitFor(() => socket !== undefined, { what: 'the app to connect over Socket Mode' });
      const envelopeId = nextId('env-');
      const acked = new Promise<Record<string, unknown>>((resolve) => acks.set(envelopeId, resolve));
      socket!.send(JSON.stringify({ envelope_id: envelopeId, type, payload, accepts_response_payload: type !== 'events_api', retry_attempt: 0, retry_reason: '' }));
      return acked;
    },
    async start() {
      server = createServer((request, response) => {
        handle(request, response).catch((error: unknown) => json(response, 500, { ok: false, error: String(error) }));
      });
      server.on('upgrade', (request, stream, head) => {
        sockets.handleUpgrade(request, stream, head, (connection) => sockets.emit('connection', connection, request));
      });
      await new Promise<void>((resolve) => server!.listen(boundPort, '127.0.0.1', resolve));
      boundPort = (server.address() as AddressInfo).port;
    },
    stop() {
      return new Promise((resolve) => {
        if (!server) return resolve();
        for (const client of sockets.clients) client.terminate();
        socket = undefined;
        server.closeAllConnections();
        server.close(() => resolve());
        server = undefined;
      });
    },
  };
  await fake.start();
  return fake;
}

/** Slack's signature of a request body at a time (seconds since the epoch). */
export function slackSignature({ secret, timestamp, body }: { secret: string; timestamp: number; body: string }): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface SignedResponse {
  status: number;
  text: string;
  /** The body as JSON when it is JSON (ephemeral replies, view responses), else undefined. */
  json: Record<string, unknown> | undefined;
}

/**
 * Posts to our receiver as Slack does. Events go as JSON; slash commands as a form; interactions
 * (buttons, form submissions) as a form with one `payload` field holding JSON.
 */
export async function signedRequest({
  url,
  secret,
  kind,
  payload,
  timestamp = Math.floor(Date.now() / 1000),
  signature,
  headers = {},
}: {
  url: string;
  secret: string;
  kind: 'event' | 'command' | 'interaction';
  payload: Record<string, unknown>;
  timestamp?: number;
  /** Overrides the signature (to send a wrong one). */
  signature?: string;
  headers?: Record<string, string>;
}): Promise<SignedResponse> {
  const body =
    kind === 'event'
      ? JSON.stringify(payload)
      : kind === 'command'
        ? new URLSearchParams(Object.entries(payload).map(([key, value]): [string, string] => [key, String(value)])).toString()
        : new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': kind === 'event' ? 'application/json' : 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': signature ?? slackSignature({ secret, timestamp, body }),
      ...headers,
    },
    body,
  });
  const text = await response.text();
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
  } catch {
    // Not every answer is JSON (an empty 200, a plain acknowledgement): `text` keeps it.
    parsed = undefined;
  }
  return { status: response.status, text, json: parsed };
}
