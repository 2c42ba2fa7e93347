/**
 * Sends what the outbox hands the Slack channel: forwards to a department's channel (with the
 * buttons), receipts and answers to a person or a thread, and their files. Every Slack failure
 * becomes a WaslError whose `temporary` flag tells the outbox whether to try again; the client
 * itself does not retry, so a rate limit is waited out by the outbox, never by a blocked worker.
 */
import type { Language } from '../../src/config/config.schema.js';
import { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { GatewayPort, OutboundMessage, SendResult } from '../../src/channels/port.js';
import { WaslError } from '../../src/errors.js';
import { threadKey } from './to-letter.js';
import { forwardMessage, letterMessage } from './to-native.js';

type WebClient = InstanceType<typeof webApi.WebClient>;

/**
 * Platform error codes that may pass on their own (https://docs.slack.dev/reference/methods):
 * everything else (channel_not_found, not_in_channel, invalid_auth, msg_too_long…) needs a
 * person to change something, so the delivery is marked failed at once for the mail office.
 */
const TEMPORARY_PLATFORM_ERRORS = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'team_not_found_temporarily']);

interface SlackClientError {
  code?: string;
  message?: string;
  statusCode?: number;
  retryAfter?: number;
  data?: { error?: string; response_metadata?: { retryAfter?: number } };
}

/** Maps what the Web API client throws to our one error type. */
export function slackError(error: unknown): WaslError {
  if (error instanceof WaslError) return error;
  const coded = (typeof error === 'object' && error !== null ? error : {}) as SlackClientError;
  const message = coded.message ?? String(error);
  switch (coded.code) {
    case webApi.ErrorCode.RateLimitedError:
      return new WaslError('slack.rate_limited', message, { temporary: true, retryAfterMs: (coded.retryAfter ?? 1) * 1000, cause: error });
    case webApi.ErrorCode.RequestError:
      return new WaslError('slack.unreachable', message, { temporary: true, cause: error });
    case webApi.ErrorCode.HTTPError: {
      const status = coded.statusCode ?? 0;
      return new WaslError('slack.http_error', message, { temporary: status >= 500 || status === 408, details: { status }, cause: error });
    }
    case webApi.ErrorCode.PlatformError: {
      const platformCode = coded.data?.error ?? 'unknown';
      const retryAfter = coded.data?.response_metadata?.retryAfter;
      return new WaslError(`slack.${platformCode}`, `Slack refused: ${platformCode}`, {
        temporary: TEMPORARY_PLATFORM_ERRORS.has(platformCode),
        ...(retryAfter ? { retryAfterMs: retryAfter * 1000 } : {}),
        details: { slack: platformCode },
        cause: error,
      });
    }
    default:
      // The file upload step posts to a URL Slack gave us and fails with a plain Error: try again.
      return new WaslError('slack.unexpected', message, { temporary: true, cause: error });
  }
}

export interface SlackSender {
  send(message: OutboundMessage): Promise<SendResult>;
}

export function createSlackSender({ client, port, language, logger }: { client: WebClient; port: GatewayPort; language: Language; logger: Logger }): SlackSender {
  /**
   * Messages posted whose files are not all uploaded yet, by delivery id: when the outbox tries
   * again it uploads the files under the message already posted instead of posting it twice.
   */
  const postedAwaitingFiles = new Map<number, { channel: string; ts: string }>();

  async function postMain(message: OutboundMessage): Promise<{ channel: string; ts: string }> {
    const native = message.kind === 'forward' ? forwardMessage({ message, departments: port.departments(), language }) : letterMessage({ message });
    const result = await client.chat.postMessage({
      channel: message.to.id,
      ...(message.to.thread ? { thread_ts: message.to.thread } : {}),
      text: native.text,
      blocks: native.blocks as never,
      unfurl_links: false,
      unfurl_media: false,
      // Lets an operator find what wasl posted, and for which delivery, from Slack's side.
      metadata: { event_type: 'wasl_delivery', event_payload: { delivery: message.deliveryId, letter: message.letter.number, kind: message.kind } },
    });
    if (!result.channel || !result.ts) throw new WaslError('slack.bad_response', 'chat.postMessage answered without channel or ts', { temporary: true });
    return { channel: result.channel, ts: result.ts };
  }

  return {
    async send(message) {
      try {
        const posted = postedAwaitingFiles.get(message.deliveryId) ?? (await postMain(message));
        if (message.attachments.length > 0) {
          postedAwaitingFiles.set(message.deliveryId, posted);
          await client.filesUploadV2({
            channel_id: posted.channel,
            thread_ts: message.to.thread ?? posted.ts,
            file_uploads: message.attachments.map((attachment, index) => ({
              file: Buffer.from(attachment.content),
              filename: attachment.filename ?? `${message.letter.number}-${index + 1}`,
            })),
          });
          postedAwaitingFiles.delete(message.deliveryId);
        }
        return { externalId: threadKey(posted) };
      } catch (caught) {
        const error = slackError(caught);
        if (!error.temporary) postedAwaitingFiles.delete(message.deliveryId);
        logger.debug({ delivery: message.deliveryId, code: error.code, phase: 'slack.send' }, 'Slack send failed');
        throw error;
      }
    },
  };
}
