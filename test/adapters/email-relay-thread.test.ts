/** Outgoing mail is built and sent from a thread of its own; its end loses nothing the outbox cannot retry. */
import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayPort, OutboundMessage } from '../../src/channels/port.js';
import { createMailSender } from '../../adapters/email/smtp-outgoing.js';
import { startMailSink, type MailSink } from '../helpers/mail-sink.js';

const identity = { domain: 'wasl.test', fromLocalPart: 'bureau', officeName: 'Bureau d’ordre' };
const settings = { maxConnections: 2, timeoutMs: 20_000, verifyCertificate: true };
// The relay path never reaches the gateway: only the built-in mailbox does.
const noGateway = {} as GatewayPort;

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
    const sender = createMailSender({ config: { ...settings, url: sink.url }, identity, port: noGateway });
    cleanups.push(() => sender.close());

    const { externalId } = await sender.send(receipt(7));
    const [message] = await sink.waitForMessages(1);
    expect(externalId).toBe('<wasl.7.2026-A-000007@wasl.test>');
    expect(message!.parsed.messageId).toBe(externalId);
    expect(message!.raw.toString('latin1').match(/^Message-ID:/gim)).toHaveLength(1);
    expect(message!.parsed.subject).toBe('وصل الاستلام — accusé de réception');
    expect(message!.mailFrom).toBe('bounce+7@wasl.test');
  });

  it('fails a send in flight as temporary when the thread ends, and starts a new thread for the next send', async () => {
    // A relay that accepts the connection and never greets: the send stays in flight.
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const sender = createMailSender({ config: { ...settings, url: `smtp://127.0.0.1:${port}` }, identity, port: noGateway });
    cleanups.push(() => sender.close());

    const inFlight = sender.send(receipt(1));
    await expect.poll(() => sockets.length).toBeGreaterThan(0);
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
});
