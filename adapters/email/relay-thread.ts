/**
 * The relay thread: builds each outgoing email (MIME, quoted-printable, base64) and speaks SMTP to
 * the relay, off the thread that takes letters in. Both cost about a millisecond a letter and
 * would otherwise delay every "250" behind them. It owns no state that matters: a lost thread
 * loses only sends in flight, which the outbox retries.
 */
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { basename } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import type { OutboundMessage } from '../../src/channels/port.js';
import { createRelayTransport, type RelayConfig, type RelayFailure } from './relay-transport.js';
import { toMail, type MailIdentity } from './to-native.js';

export type RelayRequest = { id: number; message: OutboundMessage; envelopeFrom: string } | { close: true };
/** `notComposed`: the message could not be built into an email, which no retry changes. */
export type RelayAnswer = { id: number; externalId: string } | { id: number; failure: RelayFailure } | { id: number; notComposed: string };

/** Above the thread that takes letters in (niceness 0), so that a busy machine serves the "250"s first. */
const RELAY_THREAD_NICENESS = 10;

/**
 * The sends can wait a little; a sender waiting for its "250" should not. With both cores busy,
 * the kernel gives the CPU to intake first, and the sends catch up whenever intake rests
 * (bench/RESULTS.md: +8% letters a second end to end at 10 sessions; at 50, intake gains more and
 * forwards and receipts trail it until the load stops). Linux applies setpriority() on a thread's
 * own id to that thread alone, and /proc/thread-self names it. Where that file does not exist, or
 * a sandbox refuses the call, the thread keeps its normal priority: never a reason to stop sending.
 */
function yieldToIntake(): void {
  try {
    setPriority(Number(basename(readlinkSync('/proc/thread-self'))), RELAY_THREAD_NICENESS);
  } catch {
    // Not Linux, or not allowed: the thread runs at the priority it started with.
  }
}

yieldToIntake();
const { config, identity } = workerData as { config: RelayConfig; identity: MailIdentity };
const relay = createRelayTransport(config);
const channel = parentPort!;

/** Sends in flight: on close, the thread waits for them a little, then ends anyway. */
let inFlight = 0;
let closing = false;
const endIfDone = () => {
  if (closing && inFlight === 0) process.exit(0);
};

channel.on('message', (request: RelayRequest) => {
  if ('close' in request) {
    // Idle connections get their QUIT and sends in flight a moment to finish; one that hangs (a
    // relay that stopped answering) is not waited for long: it fails as temporary and is retried.
    closing = true;
    relay.close();
    channel.close();
    setTimeout(() => process.exit(0), 2_000).unref();
    return endIfDone();
  }
  inFlight += 1;
  composed(request)
    .then(
      // The Message-ID is in `raw` already. Given here too, nodemailer does not draw a throwaway one
      // for the raw message (five crypto.randomBytes calls, each taking a lock: 0.05 ms a letter, profiled).
      ({ mail, raw }) =>
        relay.sendMail({ envelope: mail.envelope, raw, messageId: mail.messageId }).then(
          () => ({ id: request.id, externalId: String(mail.messageId) }) satisfies RelayAnswer,
          (error: Error & Partial<RelayFailure>) =>
            ({ id: request.id, failure: { message: error.message, responseCode: error.responseCode, code: error.code, response: error.response } }) satisfies RelayAnswer,
        ),
      (error: Error) => ({ id: request.id, notComposed: error.message }) satisfies RelayAnswer,
    )
    .then((answer) => channel.postMessage(answer))
    .finally(() => {
      inFlight -= 1;
      endIfDone();
    });
});

/**
 * The email of a message, built whole first: streamed as it is built, it would leave in a socket
 * write per line. Failing here is the message's own doing, not the relay's: thrown in the thread's
 * message handler, it ended the thread, failed every send in flight, and came back at each retry.
 */
async function composed({ message, envelopeFrom }: { message: OutboundMessage; envelopeFrom: string }): Promise<{ mail: ReturnType<typeof toMail>; raw: Buffer }> {
  const mail = toMail({ message, identity, envelopeFrom });
  return { mail, raw: await new MailComposer(mail).compile().build() };
}
