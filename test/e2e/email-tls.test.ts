/**
 * TLS on the SMTP port: STARTTLS is offered when a certificate is configured, or the port speaks
 * TLS from the first byte (`tls.implicit`); letters travel encrypted, and the session inside TLS
 * keeps the plain session's rules (the greeting pause, commands ended by CRLF).
 */
import { connect as connectTcp } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import nodemailer from 'nodemailer';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { selfSignedCertificate } from '../helpers/self-signed-certificate.js';
import { SmtpSession } from '../helpers/smtp-client.js';

const { key, cert } = selfSignedCertificate('wasl.local');

const sockets: Duplex[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

/** Everything the server writes on a socket, and its replies one at a time. */
function listen(socket: Duplex) {
  sockets.push(socket);
  let received = '';
  let read = 0;
  let wake: (() => void) | undefined;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('data', (data: Buffer) => {
    received += data.toString('utf8');
    wake?.();
  });
  socket.on('close', () => wake?.());
  socket.on('error', () => undefined);
  return {
    closed,
    received: () => received,
    /** The next whole reply (its last line), or an error once the connection closed without one. */
    async reply(): Promise<string> {
      for (;;) {
        const match = /^\d{3} .*\r\n/m.exec(received.slice(read));
        if (match) {
          read += match.index + match[0].length;
          return match[0].trimEnd();
        }
        if (socket.destroyed) throw new Error('connection closed before a reply');
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    /** Stops listening, so that a TLS socket on top of this one gets the bytes. */
    stop: () => socket.removeAllListeners('data'),
  };
}

async function tlsTo(port: number): Promise<TLSSocket> {
  const socket = connectTls({ host: '127.0.0.1', port, rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  return socket;
}

async function sendOverTls(port: number, options: { secure: boolean; requireTLS?: boolean }): Promise<string> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, ...options, tls: { rejectUnauthorized: false } });
  try {
    const info = await transport.sendMail({ from: 'tls@citizen.test', to: 'rh@wasl.local', subject: 'Chiffré', text: 'Bonjour' });
    return info.response;
  } finally {
    transport.close();
  }
}

describe('STARTTLS', () => {
  let test: TestGateway;
  beforeAll(async () => {
    test = await startTestGateway({ config: { adapters: { email: { smtp: { tls: { key, cert } } } } } });
  });
  afterAll(() => test.stop());

  it('is offered when a certificate is configured, and a letter sent over TLS is registered', async () => {
    const { session } = await SmtpSession.open(test.smtpPort);
    const ehlo = await session.command('EHLO client.test');
    await session.quit();
    expect(ehlo.text).toContain('STARTTLS');
    expect(await sendOverTls(test.smtpPort, { secure: false, requireTLS: true })).toMatch(/^250 2\.6\.0 Registered as \d{4}-A-000001$/);
  });

  it('inside TLS, a command ended by a bare LF is answered 500 and not run', async () => {
    const plain = connectTcp({ host: '127.0.0.1', port: test.smtpPort });
    const before = listen(plain);
    expect(await before.reply()).toMatch(/^220 /);
    plain.write('EHLO client.test\r\n');
    await before.reply();
    plain.write('STARTTLS\r\n');
    expect(await before.reply()).toMatch(/^220 /);
    before.stop();
    const secured = connectTls({ socket: plain, rejectUnauthorized: false });
    await new Promise<void>((resolve, reject) => secured.once('secureConnect', resolve).once('error', reject));
    const inside = listen(secured);

    secured.write('EHLO client.test\n');
    expect(await inside.reply()).toMatch(/^500 5\.5\.2 Line ends in a bare LF/);
    secured.write('EHLO client.test\r\n');
    expect(await inside.reply()).toMatch(/^250 /);
  });

  it('is not offered without a certificate', async () => {
    const plain = await startTestGateway();
    const { session } = await SmtpSession.open(plain.smtpPort);
    const ehlo = await session.command('EHLO client.test');
    await session.quit();
    await plain.stop();
    expect(ehlo.text).not.toContain('STARTTLS');
  });
});

describe('implicit TLS', () => {
  let gateways: TestGateway[] = [];
  afterEach(async () => {
    for (const gateway of gateways) await gateway.stop();
    gateways = [];
  });
  async function start(greetingDelayMs: number) {
    const test = await startTestGateway({ config: { adapters: { email: { smtp: { greetingDelayMs, tls: { key, cert, implicit: true } } } } } });
    gateways.push(test);
    return test;
  }

  it('greets inside TLS after the configured pause: a client that speaks before it is refused with 421', async () => {
    const test = await start(3000);
    const socket = await tlsTo(test.smtpPort);
    const client = listen(socket);
    // Well past smtp-server's own 100 ms pause, well before ours.
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(client.received()).toBe('');
    socket.write('EHLO early.example\r\n');
    await client.closed;
    expect(client.received()).toMatch(/^421 .*talk too soon/);
    expect(client.received()).not.toMatch(/^220 /m);
  });

  it('with no pause greets at once, offers no STARTTLS, and registers a letter sent over it', async () => {
    const test = await start(0);
    const socket = await tlsTo(test.smtpPort);
    const client = listen(socket);
    expect(await client.reply()).toMatch(/^220 wasl\.local ESMTP/);
    socket.write('EHLO client.test\r\n');
    expect(await client.reply()).toMatch(/^250 /);
    expect(client.received()).not.toContain('STARTTLS');
    expect(await sendOverTls(test.smtpPort, { secure: true })).toMatch(/^250 2\.6\.0 Registered as \d{4}-A-000001$/);
  });
});
