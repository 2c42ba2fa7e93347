/** The per-sender receipt cap counts one place of answer: a mailbox, or on chat one sender's thread. */
import { describe, expect, it } from 'vitest';
import { deliveries } from '../../src/db/schema.js';
import { gatewayPerTest, rowsOf } from '../helpers/gateway.js';
import { composeMessage } from '../helpers/messages.js';
import { sendLetter } from '../helpers/smtp-client.js';

const start = gatewayPerTest();

const chatLetter = (index: number, thread: string) => ({
  channel: 'matrix',
  externalId: `$event-${index}`,
  receivedAt: new Date(),
  from: { channel: 'matrix', id: `@person${index}:example.org` },
  replyTo: { channel: 'matrix', id: '!busy-room:example.org', thread },
  to: ['RH'],
  subject: `Lettre ${index}`,
  text: 'Bonjour',
  attachments: [],
});

describe('the receipt cap in a chat room', () => {
  it('does not count a busy room as one sender: twelve people in one room each get their receipt in their own thread', async () => {
    const test = await start({ config: { receipts: { perSenderPerHour: 10 } } });
    for (let index = 0; index < 12; index++) await test.gateway.port.accept(chatLetter(index, `$event-${index}`));
    const receipts = (await rowsOf(test.gateway, deliveries)).filter((row) => row.kind === 'receipt');
    expect(receipts).toHaveLength(12);
    expect(receipts.filter((row) => row.status === 'suppressed')).toHaveLength(0);
  });

  it('still holds for one thread answered again and again', async () => {
    const test = await start({ config: { receipts: { perSenderPerHour: 10 } } });
    for (let index = 0; index < 12; index++) await test.gateway.port.accept(chatLetter(index, '$same-thread'));
    const receipts = (await rowsOf(test.gateway, deliveries)).filter((row) => row.kind === 'receipt');
    expect(receipts.filter((row) => row.status === 'suppressed')).toHaveLength(2);
  });
});

describe('the receipt cap by email', () => {
  it('counts victim+1@, Victim+2@ and victim+3@ as one person: a forger cannot multiply the receipts someone gets', async () => {
    const test = await start({ config: { receipts: { perSenderPerHour: 2 } } });
    for (const sender of ['victim+1@citizen.test', 'Victim+2@citizen.test', 'victim+3@CITIZEN.test']) {
      const message = await composeMessage({ from: sender, to: 'rh@wasl.local', subject: 'Demande', text: 'Bonjour' });
      const reply = await sendLetter({ port: test.smtpPort, from: sender, to: ['rh@wasl.local'], message });
      expect(reply.data?.code).toBe(250);
    }
    const receipts = (await rowsOf(test.gateway, deliveries)).filter((row) => row.kind === 'receipt');
    expect(receipts).toHaveLength(3);
    expect(receipts.filter((row) => row.status === 'suppressed')).toHaveLength(1);
  });
});
