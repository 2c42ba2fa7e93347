/**
 * What the gateway keeps secret stays secret: no password in any log line at any level, the
 * register's files readable by their owner only, and no HMAC secret too short to protect anything.
 */
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { deliveries } from '../../src/db/schema.js';
import { createLogger } from '../../src/logger.js';
import { runWasl } from '../helpers/cli.js';
import { gatewayPerTest, waitFor, rowsOf } from '../helpers/gateway.js';
import { startMailSink } from '../helpers/mail-sink.js';
import { composeMessage } from '../helpers/messages.js';
import { sendLetter } from '../helpers/smtp-client.js';

const start = gatewayPerTest();

const RELAY_PASSWORD = 'Relay-Pa55word-never-logged';

/** A logger at `trace`, the most talkative level, writing into an array instead of stderr. */
function loggerIntoLines() {
  const lines: string[] = [];
  const logger = createLogger('trace', { write: (line: string) => void lines.push(line) });
  return { logger, lines };
}

async function sendOneLetter(port: number) {
  const message = await composeMessage({ from: 'amina@citizen.test', to: 'rh@wasl.local', subject: 'Demande', text: 'Bonjour' });
  const reply = await sendLetter({ port, from: 'amina@citizen.test', to: ['rh@wasl.local'], message });
  expect(reply.data?.code).toBe(250);
}

describe('the logs', () => {
  it("never show the relay's password, at any level, from start to stop through a letter and its deliveries", async () => {
    const { logger, lines } = loggerIntoLines();
    const sink = await startMailSink();
    onTestFinished(() => sink.stop());
    const relayUrl = `smtp://wasl:${RELAY_PASSWORD}@127.0.0.1:${sink.port}`;
    const test = await start({ logger, relay: false, config: { adapters: { email: { outbound: { url: relayUrl } } } } });
    await sendOneLetter(test.smtpPort);
    await waitFor(async () => (await rowsOf(test.gateway, deliveries)).every((row) => row.attempts > 0 && row.status !== 'sending'), { what: 'every delivery tried' });
    await test.stopGateway();

    const listening = lines.map((line) => JSON.parse(line) as { msg: string; relay?: string }).find((line) => line.msg === 'SMTP intake listening');
    expect(listening?.relay).toBe(`smtp://wasl:***@127.0.0.1:${sink.port}`);
    expect(lines.length).toBeGreaterThan(5);
    expect(lines.filter((line) => line.includes(RELAY_PASSWORD))).toEqual([]);
  });

  it('mask the values of secret keys and the passwords of URLs wherever a line carries them', () => {
    const { logger, lines } = loggerIntoLines();
    logger.info({ botToken: 'xoxb-secret-1', auth: { user: 'wasl', pass: 'secret-2' } }, 'connecting');
    logger.warn({ peer: 'smtps://bob:secret-3@relay.example:465' }, 'relay smtp://bob:secret-4@relay.example down');
    const text = lines.join('');
    for (const secret of ['secret-1', 'secret-2', 'secret-3', 'secret-4']) expect(text).not.toContain(secret);
    expect(text).toContain('smtps://bob:***@relay.example:465');
    expect(text).toContain('"user":"wasl"');
  });
});

describe('the data directory', () => {
  it('is readable by its owner only: the directory 0700, the register, its journal, keys and secret 0600, after a start and a letter', async () => {
    // A directory an operator made with the usual umask, as the gateway finds it.
    const dataDir = mkdtempSync(join(tmpdir(), 'wasl-modes-'));
    chmodSync(dataDir, 0o755);
    onTestFinished(() => rmSync(dataDir, { recursive: true, force: true }));
    const test = await start({ relay: false, config: { dataDir } });
    await sendOneLetter(test.smtpPort);
    await waitFor(async () => (await rowsOf(test.gateway, deliveries)).every((row) => row.status === 'sent'), { what: 'the deliveries kept in the mailbox' });

    const modes: Record<string, string> = { '.': (statSync(dataDir).mode & 0o777).toString(8) };
    for (const name of readdirSync(dataDir, { recursive: true, encoding: 'utf8' })) modes[name] = (statSync(join(dataDir, name)).mode & 0o777).toString(8);

    expect(modes).toEqual({
      '.': '700',
      'wasl.sqlite': '600',
      'wasl.sqlite-wal': '600',
      'wasl.sqlite-shm': '600',
      'secret.key': '600',
      'gateway.lock': '600',
      'gateway.pid': '600',
      keys: '700',
      'keys/receipt-signing.key': '600',
      'keys/receipt-signing.pub': '600',
    });
  });
});

describe('WASL_SECRET', () => {
  it('is refused when shorter than 32 bytes: exit 2, a line naming it and saying how to make one', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wasl-secret-'));
    try {
      const result = await runWasl({ args: ['start'], env: { WASL_SECRET: 'short-secret', WASL_DATA_DIR: dataDir, WASL_HTTP_PORT: '0', WASL_SMTP_PORT: '0' } });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain('WASL_SECRET: 12 bytes, at least 32 are needed');
      expect(result.stderr).toContain('openssl rand -hex 32');
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
