/**
 * The relay thread: builds each outgoing email (MIME, quoted-printable, base64) and speaks SMTP to
 * the relay, off the thread that takes letters in. Both cost about a millisecond a letter and
 * would otherwise delay every "250" behind them. It owns no state that matters: a lost thread
 * loses only sends in flight, which the outbox retries.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { OutboundMessage } from '../../src/channels/port.js';
import { createRelayTransport, type RelayConfig, type RelayFailure } from './relay-transport.js';
import { toMail, type MailIdentity } from './to-native.js';

export type RelayRequest = { id: number; message: OutboundMessage } | { close: true };
export type RelayAnswer = { id: number; externalId: string } | { id: number; failure: RelayFailure };

const { config, identity } = workerData as { config: RelayConfig; identity: MailIdentity };
const relay = createRelayTransport(config);
const channel = parentPort!;

channel.on('message', (request: RelayRequest) => {
  if ('close' in request) {
    relay.close();
    channel.close();
    return;
  }
  const mail = toMail({ message: request.message, identity });
  relay.sendMail(mail).then(
    () => channel.postMessage({ id: request.id, externalId: String(mail.messageId) } satisfies RelayAnswer),
    (error: Error & Partial<RelayFailure>) =>
      channel.postMessage({
        id: request.id,
        failure: { message: error.message, responseCode: error.responseCode, code: error.code, response: error.response },
      } satisfies RelayAnswer),
  );
});
