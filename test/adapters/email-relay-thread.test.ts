/** Outgoing mail is built and sent from a thread of its own; its end loses nothing the outbox cannot retry. */
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayPort, OutboundMessage } from '../../src/channels/port.js';
import { createMailSender } from '../../adapters/email/smtp-outgoing.js';
import { createVerp } from '../../adapters/email/verp.js';
import { createIdTokens } from '../../src/receipts/tokens.js';
import { selfSignedCertificate } from '../helpers/self-signed-certificate.js';
import { startMailSink, type MailSink } from '../helpers/mail-sink.js';
import { waitFor } from '../helpers/wait.js';

const identity = { domain: 'wasl.test', fromLocalPart: 'bureau', officeName: 'Bureau d’ordre' };
const settings = { maxConnections: 2, timeoutMs: 20_000, verifyCertificate: true };
// The relay path never reaches the gateway: only the built-in mailbox does.
const noGateway = {} as GatewayPort;
const verp = createVerp({ tokens: createIdTokens(Buffer.from('a secret of the relay thread tests'), 'verp'), domain: 'wasl.test' });

function receipt(deliveryId: number): OutboundMessage {
  return {
    deliveryId,
    kind: 'receipt',
    attempt: 1,
    to: { channel: 'email', id: 'citizen@example.test' },
    letter: {
      number: `2026-A-00000${deliveryId}`,
      direction: 'incoming',
      subject: 'Demande de congé',
      channel: 'email',
      sender: { channel: 'email', id: 'citizen@example.test' },
      departments: ['RH'],
      status: 'registered',
      registeredAt: new Date('2026-11-24T09:00:00Z'),
      receiptUrl: 'http://127.0.0.1/r/token',
    },
    subject: 'وصل الاستلام — accusé de réception',
    text: 'Votre lettre est enregistrée.\n',
    attachments: [],
  };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('the relay thread', () => {
  it('sends through the relay with the stable Message-ID of the delivery, Arabic subject intact', async () => {
    const sink: MailSink = await startMailSink();
    cleanups.push(() => sink.stop());
    const sender = createMailSender({ config: { ...settings, url: sink.url }, identity, port: noGateway, verp });
    cleanups.push(() => sender.close());

    const { externalId } = await sender.send(receipt(7));
    const [message] = await sink.waitForMessages(1);
    expect(externalId).toBe('<wasl.7.2026-A-000007@wasl.test>');
    expect(message!.parsed.messageId).toBe(externalId);
    expect(message!.raw.toString('latin1').match(/^Message-ID:/gim)).toHaveLength(1);
    expect(message!.parsed.subject).toBe('وصل الاستلام — accusé de réception');
    expect(message!.mailFrom).toBe(verp.addressOf(7));
    expect(message!.mailFrom).toMatch(/^bounce\+7-[0-9a-f]{32}@wasl\.test$/);
  });

  it('fails a send in flight as temporary when the thread ends, and starts a new thread for the next send', async () => {
    // A relay that accepts the connection and never greets: the send stays in flight.
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const sender = createMailSender({ config: { ...settings, url: `smtp://127.0.0.1:${port}` }, identity, port: noGateway, verp });
    cleanups.push(() => sender.close());

    const inFlight = sender.send(receipt(1));
    // Its failure is asserted below; should the wait fail first, the close in afterEach must not make it an unhandled rejection.
    inFlight.catch(() => undefined);
    // The thread loads its code before it connects: seconds on a busy machine, so not expect.poll's one second.
    await waitFor(() => sockets.length > 0, { what: 'the relay thread to connect' });
    await sender.close();
    await expect(inFlight).rejects.toMatchObject({ code: 'delivery.unavailable', temporary: true });

    // The relay comes back on the same port: the same sender starts a new thread and delivers.
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    const sink = await startMailSink({ port });
    cleanups.push(() => sink.stop());
    await sender.send(receipt(2));
    const [message] = await sink.waitForMessages(1);
    expect(message!.parsed.messageId).toBe('<wasl.2.2026-A-000002@wasl.test>');
  });

  it.runIf(process.platform === 'linux')('runs below the priority of the thread that takes letters in, so that a busy machine answers senders first', async () => {
    // Field 19 of /proc/<pid>/task/<tid>/stat is the thread's niceness (the command name before it may hold spaces).
    const niceness = (thread: string) => Number(readFileSync(`/proc/self/task/${thread}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[16]);
    const threadsAt = (value: number) => readdirSync('/proc/self/task').filter((thread) => niceness(thread) === value);
    expect(threadsAt(10)).toEqual([]);

    const sink: MailSink = await startMailSink();
    cleanups.push(() => sink.stop());
    const sender = createMailSender({ config: { ...settings, url: sink.url }, identity, port: noGateway, verp });
    cleanups.push(() => sender.close());
    await sender.send(receipt(1));

    expect(threadsAt(10)).toHaveLength(1);
    expect(niceness(String(process.pid))).toBe(0);
  });

  it('fails every send as temporary while the relay refuses connections, however many wait for a connection, and delivers once it listens', async () => {
    const closed: Server = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as { port: number };
    await new Promise((resolve) => closed.close(resolve));
    const sender = createMailSender({ config: { ...settings, url: `smtp://127.0.0.1:${port}` }, identity, port: noGateway, verp });
    cleanups.push(() => sender.close());

    // Three times as many sends as connections: each refused connection must fail its send and leave the pool.
    const sends = [1, 2, 3, 4, 5, 6].map((deliveryId) => sender.send(receipt(deliveryId)));
    const outcomes = await Promise.allSettled(sends);
    expect(outcomes.map((outcome) => outcome.status === 'rejected' && `${outcome.reason.code} ${outcome.reason.temporary}`)).toEqual(
      Array(6).fill('delivery.unavailable true'),
    );

    const sink = await startMailSink({ port });
    cleanups.push(() => sink.stop());
    await Promise.all([7, 8, 9].map((deliveryId) => sender.send(receipt(deliveryId))));
    expect((await sink.waitForMessages(3)).map((message) => message.parsed.messageId).sort()).toEqual([7, 8, 9].map((id) => `<wasl.${id}.2026-A-00000${id}@wasl.test>`));
  });
});

describe('a relay that speaks TLS and asks for a login', () => {
  const { key, cert } = selfSignedCertificate('relay.test');

  /** The operator's relay: implicit TLS (smtps) or STARTTLS, required before the login; keeps what it accepts with whether it came encrypted. */
  async function startRelay({ secure }: { secure: boolean }) {
    const received: { encrypted: boolean; user: string | undefined; subject: string | undefined }[] = [];
    const server = new SMTPServer({
      secure,
      key: readFileSync(key),
      cert: readFileSync(cert),
      disableReverseLookup: true,
      logger: false,
      onAuth(auth, _session, callback) {
        if (auth.username === 'bureau' && auth.password === 's3cret') return callback(null, { user: auth.username });
        return callback(Object.assign(new Error('Invalid login'), { responseCode: 535 }));
      },
      onData(stream, session, callback) {
        simpleParser(stream).then((parsed) => {
          received.push({ encrypted: Boolean(session.secure), user: session.user as string | undefined, subject: parsed.subject });
          callback();
        }, callback);
      },
    });
    // A client that refuses the certificate drops the connection mid-handshake, which the server reports as an error.
    server.on('error', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return { port: (server.server.address() as { port: number }).port, received };
  }

  it.each([
    ['smtps://', true],
    ['smtp:// with STARTTLS', false],
  ])('delivers over %s with the login of the relay URL', async (_label, secure) => {
    const relay = await startRelay({ secure });
    const url = `${secure ? 'smtps' : 'smtp'}://bureau:s3cret@127.0.0.1:${relay.port}`;
    const sender = createMailSender({ config: { ...settings, url, verifyCertificate: false }, identity, port: noGateway, verp });
    cleanups.push(() => sender.close());

    await Promise.all([1, 2, 3].map((deliveryId) => sender.send(receipt(deliveryId))));
    expect(relay.received).toEqual(Array(3).fill({ encrypted: true, user: 'bureau', subject: 'وصل الاستلام — accusé de réception' }));
  });

  it('refuses a relay whose certificate it cannot verify, as a temporary failure', async () => {
    const relay = await startRelay({ secure: true });
    const sender = createMailSender({ config: { ...settings, url: `smtps://bureau:s3cret@127.0.0.1:${relay.port}` }, identity, port: noGateway, verp });
    cleanups.push(() => sender.close());
    await expect(sender.send(receipt(1))).rejects.toMatchObject({ code: 'delivery.unavailable', temporary: true });
    expect(relay.received).toEqual([]);
  });
});
