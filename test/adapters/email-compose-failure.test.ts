/**
 * A message the relay thread cannot build into an email is a bug: it fails alone and for good,
 * and the thread goes on sending the others. A real relay thread and a real SMTP sink.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createMailSender } from '../../adapters/email/smtp-outgoing.js';
import type { GatewayPort, OutboundMessage } from '../../src/channels/port.js';
import type { WaslError } from '../../src/errors.js';
import { startMailSink, type MailSink } from '../helpers/mail-sink.js';

const identity = { domain: 'wasl.test', fromLocalPart: 'bureau', officeName: 'Bureau d’ordre' };

function receipt(deliveryId: number): OutboundMessage {
  return {
    deliveryId,
    kind: 'receipt',
    attempt: 1,
    to: { channel: 'email', id: 'citizen@example.test' },
    letter: {
      number: `2026-A-00000${deliveryId}`,
      direction: 'incoming',
      subject: 'Demande',
      channel: 'email',
      sender: { channel: 'email', id: 'citizen@example.test' },
      departments: ['RH'],
      status: 'registered',
      registeredAt: new Date('2026-11-24T09:00:00Z'),
      receiptUrl: 'http://127.0.0.1/r/token',
    },
    subject: 'Accusé de réception',
    text: 'Votre lettre est enregistrée.\n',
    attachments: [],
  };
}

let sink: MailSink | undefined;
let close: (() => unknown) | undefined;
afterEach(async () => {
  await close?.();
  await sink?.stop();
});

describe('a message the relay thread cannot build', () => {
  it('fails alone as delivery.compose_failed, not to be retried, while a message sent beside it is delivered', async () => {
    sink = await startMailSink();
    const sender = createMailSender({ config: { maxConnections: 2, timeoutMs: 20_000, verifyCertificate: true, url: sink.url }, identity, port: {} as GatewayPort });
    close = () => sender.close();
    // What only a bug in the core could hand over: a message without a subject.
    const broken = { ...receipt(1), subject: undefined as unknown as string };

    const [failed, sent] = await Promise.allSettled([sender.send(broken), sender.send(receipt(2))]);

    expect(failed.status).toBe('rejected');
    const error = (failed as PromiseRejectedResult).reason as WaslError;
    expect({ code: error.code, temporary: error.temporary }).toEqual({ code: 'delivery.compose_failed', temporary: false });
    expect(sent).toEqual({ status: 'fulfilled', value: { externalId: '<wasl.2.2026-A-000002@wasl.test>' } });
    await sink.waitForMessages(1);
  });
});
