/**
 * The bot's connection to its homeserver, through matrix-js-sdk: one client for sync and for
 * requests, with the SDK's crypto off and an in-memory store (no browser storage in Node).
 *
 * Events are sent with a plain `PUT /rooms/{roomId}/send/{type}/{txnId}` through the SDK's
 * authenticated HTTP layer rather than `client.sendEvent`: sendEvent keeps a local echo per room
 * that refuses a transaction id it has seen ("addPendingEvent called on an event with known
 * txnId") and holds back every later send in a room once one failed ("Event blocked by other
 * events not yet sent"), which defeats the outbox's retries with stable transaction ids.
 */
// Before 'matrix-js-sdk': the SDK's modules bind their logger when first evaluated.
import { clientLogger, routeSdkLogs } from './sdk-logging.js';
import {
  ConnectionError,
  createClient,
  Direction,
  EventType,
  MatrixError,
  MemoryStore,
  Method,
  type MatrixClient,
} from 'matrix-js-sdk';
import type { Logger } from 'pino';
import type { Attachment } from '../../src/channels/port.js';
import { WaslError } from '../../src/errors.js';
import type { Content } from './to-native.js';
import type { FileReference, MatrixEventFacts } from './to-letter.js';

export interface HomeserverOptions {
  homeserverUrl: string;
  userId: string;
  accessToken: string;
  requestTimeoutMs: number;
  maxAttachmentBytes: number;
  logger: Logger;
}

export interface Homeserver {
  readonly client: MatrixClient;
  sendEvent(input: { roomId: string; content: Content; txnId: string; type?: string }): Promise<string>;
  upload(attachment: Attachment): Promise<string>;
  download(file: FileReference): Promise<Attachment>;
  fetchEvent(input: { roomId: string; eventId: string }): Promise<MatrixEventFacts>;
  /** Every event of a thread, oldest first (spec: "GET /relations", rel_type m.thread). */
  threadEvents(input: { roomId: string; rootEventId: string }): Promise<MatrixEventFacts[]>;
  join(roomId: string): Promise<void>;
  /** Whether the room is encrypted (m.room.encryption), from this gateway's sync, else from the homeserver. */
  isEncrypted(roomId: string): Promise<boolean>;
}

/**
 * Matrix failures as wasl errors. The homeserver being away, overloaded or rate limiting
 * (M_LIMIT_EXCEEDED, with the delay it asks for) is temporary; so is a refused access token,
 * which an operator fixes without losing deliveries. Other refusals (not in the room, too large)
 * are final.
 */
export function matrixFailure(error: unknown, what: string): WaslError {
  if (error instanceof WaslError) return error;
  if (error instanceof MatrixError) {
    const status = error.httpStatus ?? 0;
    const details = { errcode: error.errcode, httpStatus: status };
    if (status === 429 || error.errcode === 'M_LIMIT_EXCEEDED') {
      const retryAfterMs = safeRetryAfter(error);
      return new WaslError('matrix.rate_limited', `${what}: rate limited by the homeserver`, { temporary: true, cause: error, details, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) });
    }
    if (status === 401 || error.errcode === 'M_UNKNOWN_TOKEN' || error.errcode === 'M_MISSING_TOKEN') {
      return new WaslError('matrix.unauthorized', `${what}: the homeserver refuses the bot's access token`, { temporary: true, cause: error, details });
    }
    if (status >= 500 || status === 408) return new WaslError('matrix.unavailable', `${what}: ${error.message}`, { temporary: true, cause: error, details });
    if (error.errcode === 'M_TOO_LARGE' || status === 413) return new WaslError('letter.too_large', `${what}: too large for the homeserver`, { cause: error, details });
    if (error.errcode === 'M_FORBIDDEN') return new WaslError('matrix.forbidden', `${what}: forbidden (is the bot a member of the room?)`, { cause: error, details });
    return new WaslError('matrix.refused', `${what}: ${error.message}`, { cause: error, details });
  }
  if (error instanceof ConnectionError || (error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError'))) {
    return new WaslError('matrix.unreachable', `${what}: the homeserver cannot be reached`, { temporary: true, cause: error });
  }
  return new WaslError('matrix.unexpected', `${what}: ${error instanceof Error ? error.message : String(error)}`, { temporary: true, cause: error });
}

function safeRetryAfter(error: MatrixError): number | undefined {
  try {
    return error.getRetryAfterMs() ?? undefined;
  } catch {
    // The SDK throws on a retry_after_ms that is not an integer: no hint then, the outbox backs off.
    return undefined;
  }
}

export function connectHomeserver(options: HomeserverOptions): Homeserver {
  routeSdkLogs(options.logger);
  const client = createClient({
    baseUrl: options.homeserverUrl,
    userId: options.userId,
    accessToken: options.accessToken,
    store: new MemoryStore(),
    localTimeoutMs: options.requestTimeoutMs,
    useAuthorizationHeader: true,
    logger: clientLogger(options.logger),
  });

  async function request<T>(what: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw matrixFailure(error, what);
    }
  }

  return {
    client,
    sendEvent({ roomId, content, txnId, type = 'm.room.message' }) {
      const path = `/rooms/${encodeURIComponent(roomId)}/send/${encodeURIComponent(type)}/${encodeURIComponent(txnId)}`;
      return request(`sending to ${roomId}`, async () => (await client.http.authedRequest<{ event_id: string }>(Method.Put, path, undefined, content)).event_id);
    },
    upload(attachment) {
      return request('uploading a file', async () => {
        const response = await client.uploadContent(Buffer.from(attachment.content), { name: attachment.filename, type: attachment.contentType, includeFilename: true });
        return response.content_uri;
      });
    },
    download(file) {
      return request('downloading a file', async () => {
        if (file.size !== undefined && file.size > options.maxAttachmentBytes) throw tooLarge(options.maxAttachmentBytes);
        // Authenticated media (spec v1.11, /_matrix/client/v1/media/download) where the homeserver has it;
        // older homeservers only serve the unauthenticated /_matrix/media/v3/download.
        const authenticated = await client.isVersionSupported('v1.11');
        const url = client.mxcUrlToHttp(file.mxc, undefined, undefined, undefined, false, true, authenticated);
        if (!url) throw new WaslError('matrix.bad_media', `not a media URI: ${file.mxc}`);
        const response = await fetch(url, {
          headers: { authorization: `Bearer ${options.accessToken}` },
          signal: AbortSignal.timeout(options.requestTimeoutMs),
        });
        if (!response.ok) {
          const text = await response.text();
          throw new MatrixError(safeJson(text), response.status, url);
        }
        const content = await readLimited({ response, limit: options.maxAttachmentBytes });
        return { filename: file.filename, contentType: file.contentType, content };
      });
    },
    fetchEvent({ roomId, eventId }) {
      return request('reading an event', async () => (await client.fetchRoomEvent(roomId, eventId)) as MatrixEventFacts);
    },
    threadEvents({ roomId, rootEventId }) {
      return request('reading a thread', async () => {
        const events: MatrixEventFacts[] = [];
        let from: string | undefined;
        do {
          const page = await client.fetchRelations(roomId, rootEventId, 'm.thread', null, { dir: Direction.Forward, limit: 100, ...(from ? { from } : {}) });
          events.push(...(page.chunk as MatrixEventFacts[]));
          from = page.next_batch ?? undefined;
        } while (from);
        return events.sort((left, right) => left.origin_server_ts - right.origin_server_ts);
      });
    },
    async join(roomId) {
      await request(`joining ${roomId}`, () => client.joinRoom(roomId));
    },
    isEncrypted(roomId) {
      // What the sync holds is current only while this gateway syncs (the one with the lease).
      const synced = client.getSyncState() === null ? null : client.getRoom(roomId);
      if (synced) return Promise.resolve(synced.hasEncryptionStateEvent());
      return request(`reading the encryption of ${roomId}`, async () => {
        try {
          await client.getStateEvent(roomId, EventType.RoomEncryption, '');
          return true;
        } catch (error) {
          // Spec: a state event the room does not have is M_NOT_FOUND (404).
          if (error instanceof MatrixError && error.errcode === 'M_NOT_FOUND') return false;
          throw error;
        }
      });
    },
  };
}

function tooLarge(limit: number): WaslError {
  return new WaslError('letter.too_large', `a file is larger than ${limit} bytes`, { details: { limitBytes: limit } });
}

function safeJson(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    // A proxy's HTML error page: keep its first words as the error.
    return { error: text.slice(0, 200) };
  }
}

async function readLimited({ response, limit }: { response: Response; limit: number }): Promise<Uint8Array> {
  const declared = Number(response.headers.get('content-length') ?? 'NaN');
  if (declared > limit) throw tooLarge(limit);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.byteLength;
    if (total > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
