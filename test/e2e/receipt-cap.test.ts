/** The per-sender receipt cap counts one place of answer: an address, or on chat one sender's thread. */
import { afterEach, describe, expect, it } from 'vitest';
import { deliveries } from '../../src/db/schema.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

let running: TestGateway | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

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
    running = await startTestGateway({ config: { receipts: { perSenderPerHour: 10 } } });
    for (let index = 0; index < 12; index++) await running.gateway.port.accept(chatLetter(index, `$event-${index}`));
    const receipts = running.gateway.db.select().from(deliveries).all().filter((row) => row.kind === 'receipt');
    expect(receipts).toHaveLength(12);
    expect(receipts.filter((row) => row.status === 'suppressed')).toHaveLength(0);
  });

  it('still holds for one thread answered again and again', async () => {
    running = await startTestGateway({ config: { receipts: { perSenderPerHour: 10 } } });
    for (let index = 0; index < 12; index++) await running.gateway.port.accept(chatLetter(index, '$same-thread'));
    const receipts = running.gateway.db.select().from(deliveries).all().filter((row) => row.kind === 'receipt');
    expect(receipts.filter((row) => row.status === 'suppressed')).toHaveLength(2);
  });
});
