/**
 * What a hostile or broken SMTP client cannot do to the gateway: make it hold a message far over
 * the size limit in memory, have a command ended by a bare LF run, or hold a session slot by
 * sending its DATA a few bytes at a time. Each gets a clear answer and nothing is registered.
 */
import { count } from 'drizzle-orm';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { letters } from '../../src/db/schema.js';
import { gatewayPerTest, type TestGateway, readRegister } from '../helpers/gateway.js';
import { composeMessage } from '../helpers/messages.js';
import { SmtpSession } from '../helpers/smtp-client.js';

const startGateway = gatewayPerTest();

const letterCount = async (test: TestGateway) => (await readRegister(test.gateway, (db) => db.select({ n: count() }).from(letters).limit(1)))[0]!.n;
const letter = () => composeMessage({ from: 'citizen@example.org', to: 'rh@wasl.local', subject: 'Demande', text: 'Bonjour' });

/** A logger that keeps what the gateway logs at info and above, to read in the test. */
function recordingLogger() {
  const entries: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => entries.push(JSON.parse(line) as Record<string, unknown>) });
  return { logger, entries };
}

async function openTransaction(port: number): Promise<SmtpSession> {
  const { session } = await SmtpSession.open(port);
  await session.command('EHLO client.test');
  expect((await session.command('MAIL FROM:<citizen@example.org>')).code).toBe(250);
  expect((await session.command('RCPT TO:<rh@wasl.local>')).code).toBe(250);
  return session;
}

describe('a message over the size limit', () => {
  it('is read to its end without being kept, answered 552 5.3.4, nothing is stored, and the session goes on', async () => {
    const { logger, entries } = recordingLogger();
    const maxSize = 64 * 1024;
    const test = await startGateway({ config: { adapters: { email: { smtp: { maxSize } } } }, logger });
    const session = await openTransaction(test.smtpPort);
    // Over 128 times the limit, in lines of 1000 bytes.
    const body = `${'x'.repeat(998)}\r\n`.repeat(Math.ceil((128 * maxSize) / 1000));
    const refused = await session.data(`From: citizen@example.org\r\nTo: rh@wasl.local\r\nSubject: Gros\r\n\r\n${body}`);

    expect(refused.code).toBe(552);
    expect(refused.text).toBe(`5.3.4 The letter is larger than the limit of ${maxSize} bytes; nothing was registered`);
    expect(await letterCount(test)).toBe(0);
    // The gateway kept no more than the limit while the whole message went through it.
    const refusal = entries.find((entry) => entry.msg === 'letter over the size limit refused');
    expect(refusal?.bytesReceived).toBeGreaterThan(128 * maxSize);
    expect(refusal?.bytesKept).toBeLessThanOrEqual(maxSize);

    expect((await session.command('MAIL FROM:<citizen@example.org>')).code).toBe(250);
    expect((await session.command('RCPT TO:<rh@wasl.local>')).code).toBe(250);
    const stored = await session.data(await letter());
    expect(stored.code).toBe(250);
    expect(await letterCount(test)).toBe(1);
    await session.quit();
  });
});

describe('a command ended by a bare LF', () => {
  it('is answered 500 5.5.2 and not run; the same command ended by CRLF runs', async () => {
    const test = await startGateway();
    const { session } = await SmtpSession.open(test.smtpPort);

    session.write('EHLO client.test\n');
    const bare = await session.read();
    expect(bare.code).toBe(500);
    expect(bare.text).toBe('5.5.2 Line ends in a bare LF: SMTP commands end with CRLF (RFC 5321 section 2.3.8); the command was not run');
    expect((await session.command('EHLO client.test')).code).toBe(250);

    // A MAIL FROM ended by a bare LF opens no transaction: the RCPT behind it has none to join.
    session.write('MAIL FROM:<citizen@example.org>\nRCPT TO:<rh@wasl.local>\r\n');
    expect((await session.read()).code).toBe(500);
    expect((await session.read()).code).toBe(503);

    expect((await session.command('MAIL FROM:<citizen@example.org>')).code).toBe(250);
    expect((await session.command('RCPT TO:<rh@wasl.local>')).code).toBe(250);
    expect((await session.data(await letter())).code).toBe(250);
    expect(await letterCount(test)).toBe(1);
    await session.quit();
  });
});

/** Starts DATA and sends a line every 100 ms, far within the idle timeout, until the gateway answers. */
async function dribble(session: SmtpSession) {
  expect((await session.command('DATA')).code).toBe(354);
  session.write('From: citizen@example.org\r\nSubject: Lent\r\n\r\n');
  const answer = session.read();
  let answered = false;
  void answer.finally(() => (answered = true)).catch(() => undefined);
  while (!answered) {
    session.write('un peu plus\r\n');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return answer;
}

describe('a sender that sends its DATA slower than the DATA time limit', () => {
  it('gets 421 4.4.2 and is disconnected, although it never stayed idle, and nothing is stored', async () => {
    const test = await startGateway({ config: { adapters: { email: { smtp: { dataTimeoutMs: 1000 } } } } });
    const session = await openTransaction(test.smtpPort);

    const reply = await dribble(session);
    expect(reply.code).toBe(421);
    expect(reply.text).toBe('4.4.2 The letter took longer than 1 s to send; nothing was registered, closing the connection');
    await expect(session.read()).rejects.toThrow('connection closed');
    expect(await letterCount(test)).toBe(0);
  });

  it('cannot hold every session slot: once the slow senders are cut off, a new client gets in and its letter is registered', async () => {
    const test = await startGateway({ config: { adapters: { email: { smtp: { maxClients: 2, dataTimeoutMs: 1000, greetingDelayMs: 0 } } } } });
    const slow = [await openTransaction(test.smtpPort), await openTransaction(test.smtpPort)];
    const dribbling = slow.map((session) => dribble(session));
    expect((await SmtpSession.open(test.smtpPort)).greeting.code).toBe(421);

    expect((await Promise.all(dribbling)).map((reply) => reply.code)).toEqual([421, 421]);
    const next = await openTransaction(test.smtpPort);
    expect((await next.data(await letter())).code).toBe(250);
    expect(await letterCount(test)).toBe(1);
    await next.quit();
  });
});
