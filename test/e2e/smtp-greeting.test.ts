/**
 * The 220 greeting comes after the configured pause (`adapters.email.smtp.greetingDelayMs`), not
 * after smtp-server's fixed one: a client that talks before it is refused, a client past the
 * session limit is refused and never greeted, and with no pause a letter goes through as usual.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { gatewayPerTest } from '../helpers/gateway.js';
import { composeMessage } from '../helpers/messages.js';
import { SmtpSession } from '../helpers/smtp-client.js';

const startGateway = gatewayPerTest();
const sockets: Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

/** A raw connection that records everything the server writes, and whether it closed. */
async function rawConnection(port: number) {
  const socket = connect({ host: '127.0.0.1', port });
  sockets.push(socket);
  let received = '';
  let closed = false;
  socket.setEncoding('utf8');
  socket.on('data', (data: string) => (received += data));
  const ended = new Promise<void>((resolve) => socket.on('close', () => ((closed = true), resolve())));
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  return { socket, ended, received: () => received, closed: () => closed };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the SMTP greeting', () => {
  it('waits for the configured pause: a client that speaks before it is refused with 421', async () => {
    const test = await startGateway({ config: { adapters: { email: { smtp: { greetingDelayMs: 3000 } } } } });
    const client = await rawConnection(test.smtpPort);
    // Well past smtp-server's own 100 ms pause, well before ours.
    await pause(400);
    expect(client.received()).toBe('');
    client.socket.write('EHLO early.example\r\n');
    await client.ended;
    expect(client.received()).toMatch(/^421 .*talk too soon/);
    expect(client.received()).not.toMatch(/^220 /m);
  });

  it('never greets a client beyond the session limit, after its 421', async () => {
    const test = await startGateway({ config: { adapters: { email: { smtp: { maxClients: 1, greetingDelayMs: 0 } } } } });
    const first = await SmtpSession.open(test.smtpPort);
    expect(first.greeting.code).toBe(220);
    const second = await rawConnection(test.smtpPort);
    await second.ended;
    expect(second.received()).toMatch(/^421 .*Too many connected clients/);
    expect(second.received()).not.toMatch(/^220 /m);
    await first.session.command('QUIT');
  });

  it('with no pause, greets a new client, which then registers its letter', async () => {
    const test = await startGateway({ config: { adapters: { email: { smtp: { greetingDelayMs: 0 } } } } });
    const { session, greeting } = await SmtpSession.open(test.smtpPort);
    expect(greeting.code).toBe(220);
    expect((await session.command('EHLO citizen.example')).code).toBe(250);
    expect((await session.command('MAIL FROM:<citizen@example.org>')).code).toBe(250);
    expect((await session.command('RCPT TO:<rh@wasl.local>')).code).toBe(250);
    const stored = await session.data(await composeMessage({ from: 'citizen@example.org', to: 'rh@wasl.local', subject: 'Demande', text: 'Bonjour' }));
    expect(stored.code).toBe(250);
    expect(stored.text).toMatch(/Registered as \d{4}-A-\d{6}/);
    await session.command('QUIT');
  });
});
