/**
 * Sends mail through the configured relay, from a thread of its own (relay-thread.ts) with pooled,
 * reused connections; or, when no relay is configured, composes the same message and keeps it in
 * the built-in mailbox.
 */
import { extname } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import nodemailer from 'nodemailer';
import type { GatewayPort, OutboundMessage, SendResult } from '../../src/channels/port.js';
import { WaslError } from '../../src/errors.js';
import type { EmailConfig } from './index.js';
import { deliveryErrorFor, type RelayConfig } from './relay-transport.js';
import type { RelayAnswer, RelayRequest } from './relay-thread.js';
import { toMail, type MailIdentity } from './to-native.js';
import type { Verp } from './verp.js';

/**
 * Built, this module is .js beside relay-thread.js. Run from source (the tests), the thread is
 * TypeScript: tsx (a dev dependency) registers its loader in the thread before loading it.
 */
function startThread(url: URL, workerData: unknown): Worker {
  if (url.pathname.endsWith('.js')) return new Worker(url, { workerData });
  const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href;
  const source = `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(source, { eval: true, workerData });
}

/**
 * The relay thread, started on first use and again after it dies. Sends in flight when it dies
 * fail as temporary, so the outbox tries them again.
 */
function createRelayThread({ config, identity }: { config: RelayConfig; identity: MailIdentity }) {
  let worker: Worker | undefined;
  let nextId = 1;
  const waiting = new Map<number, { resolve: (externalId: string) => void; reject: (error: WaslError) => void }>();

  function start(): Worker {
    const started = startThread(new URL(`./relay-thread${extname(fileURLToPath(import.meta.url))}`, import.meta.url), { config, identity });
    started.on('message', (answer: RelayAnswer) => {
      const waiter = waiting.get(answer.id);
      waiting.delete(answer.id);
      if ('failure' in answer) waiter?.reject(deliveryErrorFor(answer.failure));
      else if ('notComposed' in answer) waiter?.reject(new WaslError('delivery.compose_failed', `could not compose the email: ${answer.notComposed}`));
      else waiter?.resolve(answer.externalId);
    });
    started.on('error', (error) => failAll(error.message));
    started.on('exit', (code) => {
      if (worker === started) worker = undefined;
      failAll(`the relay thread stopped (exit code ${code})`);
    });
    return started;
  }

  function failAll(reason: string): void {
    for (const waiter of waiting.values()) waiter.reject(new WaslError('delivery.unavailable', reason, { temporary: true }));
    waiting.clear();
  }

  return {
    send(message: OutboundMessage, envelopeFrom: string): Promise<string> {
      worker ??= start();
      const id = nextId++;
      const request: RelayRequest = { id, message, envelopeFrom };
      return new Promise<string>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker!.postMessage(request);
      });
    },
    /** Lets the thread close its connections and end (sends in flight get two seconds); what is left fails as temporary. */
    async close(): Promise<void> {
      const running = worker;
      if (!running) return;
      worker = undefined;
      const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
      running.postMessage({ close: true } satisfies RelayRequest);
      const forced = setTimeout(() => void running.terminate(), 5_000);
      await exited;
      clearTimeout(forced);
    },
  };
}

export function createMailSender({ config, identity, port, verp }: { config: EmailConfig['outbound']; identity: MailIdentity; port: Pick<GatewayPort, 'keepInMailbox'>; verp: Verp }) {
  const relay = config.url ? createRelayThread({ config: { ...config, url: config.url }, identity }) : undefined;
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });

  async function send(message: OutboundMessage): Promise<SendResult> {
    const envelopeFrom = verp.addressOf(message.deliveryId);
    if (relay) return { externalId: await relay.send(message, envelopeFrom) };
    const mail = toMail({ message, identity, envelopeFrom });
    const composed = (await composer.sendMail(mail)) as unknown as { message: Buffer };
    await port.keepInMailbox({
      deliveryId: message.deliveryId,
      envelopeFrom: mail.envelope.from,
      recipients: [mail.envelope.to],
      subject: message.subject,
      raw: composed.message,
    });
    return { externalId: String(mail.messageId) };
  }

  return {
    send,
    usesBuiltInMailbox: relay === undefined,
    close: () => relay?.close(),
  };
}
