/**
 * Bounces of our own messages, over real SMTP into the real gateway. A real delivery status
 * notification (a Postfix DSN) for a message the relay took marks that delivery failed and the
 * receipt says so; forged ones (free text, a token we did not make, a DSN about another message,
 * a delay notice, a DSN for a message not sent yet) change nothing at all, and many bounce
 * addresses in one message are capped.
 */
import { count, eq } from 'drizzle-orm';
import handlebars from 'handlebars';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { deliveries, letters } from '../../src/db/schema.js';
import { createVerp, VERP_PURPOSE } from '../../adapters/email/verp.js';
import { createAnswerTokens, createIdTokens } from '../../src/receipts/tokens.js';
import { loadTemplates } from '../../src/templates/templates.js';
import { type TestGateway, gatewayPerTest, readRegister, rowsOf } from '../helpers/gateway.js';
import type { SunkMessage } from '../helpers/mail-sink.js';
import { composeMessage } from '../helpers/messages.js';
import { SmtpSession, sendLetter } from '../helpers/smtp-client.js';
import { postfixDsn } from '../fixtures/email/postfix-dsn.js';

const start = gatewayPerTest();

/** The gateway's secret, given here so the test can make (or forge) bounce tokens as the gateway does. */
const SECRET = 'the secret of the bounce tests, 32 bytes and more';
const verp = createVerp({ tokens: createIdTokens(Buffer.from(SECRET, 'utf8'), VERP_PURPOSE), domain: 'wasl.local' });
const bounceAddress = (deliveryId: number) => verp.addressOf(deliveryId);
const startGateway = (options: Parameters<typeof start>[0] = {}) => start({ ...options, env: { WASL_SECRET: SECRET } });

/** "The receipt could not be delivered" as the receipt page prints it (French, the test office's language). */
const UNDELIVERABLE = handlebars.escapeExpression((loadTemplates().strings('fr').event as Record<string, string>).receipt_undeliverable!);

const numberIn = (text: string | undefined) => /\d{4}-A-\d{6}/.exec(text ?? '')?.[0];
const letterCount = async (test: TestGateway) => (await readRegister(test.gateway, (db) => db.select({ n: count() }).from(letters).limit(1)))[0]!.n;
const deliveryOf = async (test: TestGateway, kind: 'forward' | 'receipt') => (await readRegister(test.gateway, (db) => db.select().from(deliveries).where(eq(deliveries.kind, kind)).limit(1)))[0]!;

/** A letter from `citizen` to RH, forwarded and receipted through the relay. */
async function sentLetter(test: TestGateway, citizen: string): Promise<{ number: string; forward: SunkMessage; receipt: SunkMessage }> {
  const message = await composeMessage({ from: citizen, to: 'rh@wasl.local', subject: 'Attestation', text: 'Bonjour' });
  const reply = await sendLetter({ port: test.smtpPort, from: citizen, to: ['rh@wasl.local'], message });
  const [receipt] = await test.relay!.waitForMessages(1, { to: citizen });
  const [forward] = await test.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
  await test.gateway.outbox.idle();
  return { number: numberIn(reply.data?.text)!, forward: forward!, receipt: receipt! };
}

/** All a person or the mail office can see of a letter: its deliveries in the register, its receipt as JSON and as a page. */
async function whatIsSeen(test: TestGateway, number: string) {
  const receiptUrl = (await test.gateway.port.findLetter(number))!.receiptUrl;
  const json = (await (await fetch(`${receiptUrl}.json`)).json()) as { letter: { history: { type: string }[] } };
  const page = await (await fetch(receiptUrl)).text();
  return { deliveries: (await rowsOf(test.gateway, deliveries)), json, pageSaysUndeliverable: page.includes(UNDELIVERABLE) };
}

describe('a bounce of one of our messages', () => {
  it('goes back to a VERP address that names the delivery by a token only the gateway makes', async () => {
    const test = await startGateway();
    const { receipt, forward } = await sentLetter(test, 'amina@citizen.test');
    expect(receipt.mailFrom).toBe(bounceAddress((await deliveryOf(test, 'receipt')).id));
    expect(forward.mailFrom).toBe(bounceAddress((await deliveryOf(test, 'forward')).id));
    expect(receipt.mailFrom).toMatch(/^bounce\+[0-9a-z]+-[0-9a-f]{32}@wasl\.local$/);
  });

  it('as a real Postfix DSN for a receipt the relay took, marks it failed, is not registered, and the receipt says so', async () => {
    const test = await startGateway();
    const { number, receipt } = await sentLetter(test, 'gone@citizen.test');
    expect((await whatIsSeen(test, number)).pageSaysUndeliverable).toBe(false);

    const dsn = postfixDsn({ envelopeFrom: receipt.mailFrom, recipient: 'gone@citizen.test', returned: receipt.raw });
    const reply = await sendLetter({ port: test.smtpPort, from: '', to: [receipt.mailFrom], message: dsn });

    expect(reply.data).toEqual({ code: 250, text: '2.6.0 Delivery report recorded' });
    expect(await letterCount(test)).toBe(1);
    expect(await deliveryOf(test, 'receipt')).toMatchObject({ status: 'failed', lastErrorCode: 'delivery.bounced' });
    expect((await deliveryOf(test, 'receipt')).lastError).toBe(
      'Status: 5.1.1; Diagnostic-Code: smtp; 550 5.1.1 <gone@citizen.test>: Recipient address rejected: User unknown in virtual mailbox table',
    );
    expect((await deliveryOf(test, 'forward')).status).toBe('sent');
    expect(await (await fetch(`${test.httpUrl}/metrics`)).text()).toContain('wasl_deliveries_failed_total{channel="email",kind="receipt"} 1\n');
    const seen = await whatIsSeen(test, number);
    expect(seen.json.letter.history.map((event) => event.type)).toContain('receipt_undeliverable');
    expect(seen.pageSaysUndeliverable).toBe(true);
  });

  it('returned to a department address (the From of our message) counts when the returned message carries our VERP Return-Path', async () => {
    const test = await startGateway();
    const { number, receipt } = await sentLetter(test, 'moved@citizen.test');
    const dsn = postfixDsn({ envelopeFrom: receipt.mailFrom, recipient: 'moved@citizen.test', returned: receipt.raw });
    const reply = await sendLetter({ port: test.smtpPort, from: 'mailer-daemon@mx.citizen.test', to: ['courrier@wasl.local'], message: dsn });

    expect(reply.data).toEqual({ code: 250, text: '2.6.0 Delivery report recorded' });
    expect(await letterCount(test)).toBe(1);
    expect((await whatIsSeen(test, number)).pageSaysUndeliverable).toBe(true);
  });
});

describe('a forged bounce changes nothing: the deliveries, the letter and its receipt stay as they were', () => {
  it('a message without a DSN to the bounce addresses of two sent deliveries gets 250, fails neither, and is logged at info', async () => {
    const logged: Record<string, unknown>[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => logged.push(JSON.parse(line) as Record<string, unknown>) });
    const test = await startGateway({ logger });
    const { number, receipt, forward } = await sentLetter(test, 'amina@citizen.test');
    const before = await whatIsSeen(test, number);
    const message = await composeMessage({ from: 'mailer-daemon@mx.forger.test', to: receipt.mailFrom, subject: 'Undeliverable: Attestation', text: 'Action: failed\nStatus: 5.1.1\n' });

    const reply = await sendLetter({ port: test.smtpPort, from: '', to: [receipt.mailFrom, forward.mailFrom], message });

    expect(reply.rcpt.map((answer) => answer.code)).toEqual([250, 250]);
    expect(reply.data).toEqual({ code: 250, text: '2.6.0 Report noted; it changes no delivery (not a delivery status notification)' });
    expect(await whatIsSeen(test, number)).toEqual(before);
    expect(await letterCount(test)).toBe(1);
    expect(logged).toContainEqual(
      expect.objectContaining({ level: 30, phase: 'bounce', deliveries: [(await deliveryOf(test, 'receipt')).id, (await deliveryOf(test, 'forward')).id], outcome: 'not a delivery status notification' }),
    );
  });

  it('a bounce address whose token fails the HMAC, or in the bare-id form of earlier versions, is refused at RCPT like an unknown address', async () => {
    const test = await startGateway();
    const { number, receipt } = await sentLetter(test, 'amina@citizen.test');
    const before = await whatIsSeen(test, number);
    const receiptId = (await deliveryOf(test, 'receipt')).id;
    const forgedToken = `${receiptId.toString(36)}-${'0'.repeat(32)}`;
    const madeWithAnotherSecret = createIdTokens(Buffer.from('not the gateway secret, but 32 bytes long'), VERP_PURPOSE).tokenFor(receiptId);
    // The gateway's own answer token for the same number: made for another purpose, it names no delivery.
    const answerToken = createAnswerTokens(Buffer.from(SECRET, 'utf8')).tokenFor(receiptId);
    const dsn = postfixDsn({ envelopeFrom: receipt.mailFrom, recipient: 'amina@citizen.test', returned: receipt.raw });

    const reply = await sendLetter({
      port: test.smtpPort,
      from: '',
      to: [forgedToken, madeWithAnotherSecret, answerToken, String(receiptId), '1'].map((token) => `bounce+${token}@wasl.local`),
      message: dsn,
    });

    expect(reply.rcpt).toHaveLength(5);
    for (const answer of reply.rcpt) {
      expect(answer).toEqual({ code: 550, text: expect.stringMatching(/^5\.1\.1 <bounce\+[^>]+@wasl\.local> reaches no department of wasl\.local; the list of addresses is at http/) });
    }
    expect(reply.data).toBeUndefined();
    expect(await whatIsSeen(test, number)).toEqual(before);
  });

  it('a real DSN returning another delivery gets 250 and fails neither that one nor the one it was sent to', async () => {
    const test = await startGateway();
    const { number, receipt, forward } = await sentLetter(test, 'amina@citizen.test');
    const before = await whatIsSeen(test, number);
    // Sent to the receipt's bounce address, it returns the forward (its Message-ID and Return-Path).
    const dsn = postfixDsn({ envelopeFrom: forward.mailFrom, recipient: 'rh-team@dept.test', returned: forward.raw });

    const reply = await sendLetter({ port: test.smtpPort, from: '', to: [receipt.mailFrom], message: dsn });

    expect(reply.data).toEqual({ code: 250, text: '2.6.0 Report noted; it changes no delivery (the message it returns is not the one sent from that address)' });
    expect(await whatIsSeen(test, number)).toEqual(before);
  });

  it('a real DSN whose recipient is only delayed gets 250 and changes nothing', async () => {
    const test = await startGateway();
    const { number, receipt } = await sentLetter(test, 'slow@citizen.test');
    const before = await whatIsSeen(test, number);
    const dsn = postfixDsn({ envelopeFrom: receipt.mailFrom, recipient: 'slow@citizen.test', returned: receipt.raw, action: 'delayed' });

    const reply = await sendLetter({ port: test.smtpPort, from: '', to: [receipt.mailFrom], message: dsn });

    expect(reply.data).toEqual({ code: 250, text: '2.6.0 Report noted; it changes no delivery (no recipient failed)' });
    expect(await whatIsSeen(test, number)).toEqual(before);
  });

  it('a DSN to a department address naming only our Message-ID (anyone can write one) is set aside for the mail office, and the letter is untouched', async () => {
    const test = await startGateway();
    const { number, receipt } = await sentLetter(test, 'amina@citizen.test');
    const before = await whatIsSeen(test, number);
    // The returned message has our Message-ID, but its Return-Path is not our bounce address.
    const dsn = postfixDsn({ envelopeFrom: 'courrier@wasl.local', recipient: 'amina@citizen.test', returned: receipt.raw.toString('latin1').replace(/^Return-Path:.*\r\n/im, '') });

    const reply = await sendLetter({ port: test.smtpPort, from: 'mailer-daemon@mx.forger.test', to: ['courrier@wasl.local'], message: dsn });

    expect(reply.data?.code).toBe(250);
    const setAside = (await readRegister(test.gateway, (db) => db.select().from(letters).where(eq(letters.number, numberIn(reply.data?.text)!)).limit(1)))[0]!;
    expect(setAside).toMatchObject({ automated: 'bounce' });
    expect(await whatIsSeen(test, number)).toEqual(before);
  });
});

describe('a delivery the relay has not taken yet', () => {
  it('is never failed by a bounce, even a real DSN to its own bounce address: it is sent once the relay is back', async () => {
    const test = await startGateway({ config: { outbox: { maxAttempts: 1000 } } });
    await test.relay!.stop();
    const message = await composeMessage({ from: 'early@citizen.test', to: 'rh@wasl.local', subject: 'Attestation', text: 'Bonjour' });
    const number = numberIn((await sendLetter({ port: test.smtpPort, from: 'early@citizen.test', to: ['rh@wasl.local'], message })).data?.text)!;
    const receiptId = (await deliveryOf(test, 'receipt')).id;
    const returned = `Message-ID: <wasl.${receiptId}.${number}@wasl.local>\r\nSubject: Accusé\r\n\r\nBonjour\r\n`;
    const dsn = postfixDsn({ envelopeFrom: bounceAddress(receiptId), recipient: 'early@citizen.test', returned });

    const reply = await sendLetter({ port: test.smtpPort, from: '', to: [bounceAddress(receiptId)], message: dsn });

    expect(reply.data).toEqual({ code: 250, text: '2.6.0 Report noted; it changes no delivery (not sent yet, or failed already)' });
    expect((await deliveryOf(test, 'receipt')).status).not.toBe('failed');
    await test.relay!.start();
    await test.relay!.waitForMessages(1, { to: 'early@citizen.test' });
    await test.gateway.outbox.idle();
    expect((await deliveryOf(test, 'receipt')).status).toBe('sent');
    const seen = await whatIsSeen(test, number);
    expect(seen.json.letter.history.map((event) => event.type)).not.toContain('receipt_undeliverable');
    expect(seen.pageSaysUndeliverable).toBe(false);
  });
});

describe('many bounce addresses in one message', () => {
  it('are capped at 100: every one after gets 452 4.5.3, and a real DSN among them still counts, once', async () => {
    const test = await startGateway();
    const { number, receipt } = await sentLetter(test, 'gone@citizen.test');
    // The receipt's address, then 1,999 others with valid tokens (of deliveries that do not exist), pipelined (RFC 2920).
    const addresses = [receipt.mailFrom, ...Array.from({ length: 1999 }, (_unused, index) => bounceAddress(1_000_000 + index))];
    const { session } = await SmtpSession.open(test.smtpPort);
    await session.command('EHLO client.test');
    expect((await session.command('MAIL FROM:<>')).code).toBe(250);
    session.write(addresses.map((address) => `RCPT TO:<${address}>\r\n`).join(''));
    const answers = [];
    for (let index = 0; index < addresses.length; index += 1) answers.push(await session.read());
    // The same address again is no new recipient: it is accepted after the cap too.
    const again = await session.command(`RCPT TO:<${receipt.mailFrom}>`);
    const data = await session.data(postfixDsn({ envelopeFrom: receipt.mailFrom, recipient: 'gone@citizen.test', returned: receipt.raw }));
    await session.quit();

    expect(answers.slice(0, 100).map((answer) => answer.code)).toEqual(Array<number>(100).fill(250));
    expect(new Set(answers.slice(100).map((answer) => `${answer.code} ${answer.text}`))).toEqual(
      new Set(['452 4.5.3 Too many recipients: at most 100 bounce addresses in one message (RFC 5321 §4.5.3.1.10); send the others in another']),
    );
    expect(again.code).toBe(250);
    expect(data).toEqual({ code: 250, text: '2.6.0 Delivery report recorded' });
    expect((await deliveryOf(test, 'receipt')).status).toBe('failed');
    expect((await whatIsSeen(test, number)).json.letter.history.filter((event) => event.type === 'receipt_undeliverable')).toHaveLength(1);
  });
});
