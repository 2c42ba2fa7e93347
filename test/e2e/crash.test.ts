/**
 * Crash at any moment: the gateway runs as its own process, takes a steady stream of letters from
 * several sessions, and is killed with SIGKILL at random moments and started again. Nothing that
 * got a 250 may be lost or doubled, numbers stay gapless, and every letter is forwarded and
 * receipted; the department sees a letter twice only as the same message (same Message-ID).
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { ChildProcess } from 'node:child_process';
import { spawnWasl } from '../helpers/cli.js';
import { TEST_DEPARTMENTS, waitFor } from '../helpers/gateway.js';
import { keepUntilExit } from '../helpers/keep-alive.js';
import { startMailSink, type MailSink } from '../helpers/mail-sink.js';
import { sendLetter } from '../helpers/smtp-client.js';

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

/** A small seeded generator, so a failing run can be replayed with the printed seed. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('a gateway killed with SIGKILL while letters arrive', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'wasl-crash-'));
  let sink: MailSink | undefined;
  let gateway: ChildProcess | undefined;
  afterAll(async () => {
    gateway?.kill('SIGKILL');
    await sink?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses nothing that got 250, doubles nothing, and forwards and receipts every letter', { timeout: 120_000 }, async () => {
    const seed = Number(process.env.WASL_CRASH_SEED ?? Date.now() % 1_000_000);
    console.info(`crash test seed: ${seed} (replay with WASL_CRASH_SEED=${seed})`);
    const random = seededRandom(seed);
    sink = await startMailSink();
    const [smtpPort, httpPort] = [await freePort(), await freePort()];
    const configFile = join(dataDir, 'wasl.yaml');
    writeFileSync(
      configFile,
      stringify({
        dataDir,
        http: { port: httpPort },
        log: { level: 'silent' },
        outbox: { pollIntervalMs: 50, retryBaseMs: 100, retryMaxMs: 500, maxAttempts: 50 },
        receipts: { perSenderPerHour: 1000 },
        departments: TEST_DEPARTMENTS,
        adapters: { email: { smtp: { port: smtpPort }, outbound: { url: sink.url } } },
      }),
    );

    const startGateway = async () => {
      const child = spawnWasl({ args: ['--config', configFile, 'start'] });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      await waitFor(() => stderr.includes('registering letters'), { timeoutMs: 30_000, what: 'the gateway to start' });
      return child;
    };
    gateway = await startGateway();

    /** Message-ID -> the number its 250 carried. */
    const acknowledged = new Map<string, string>();
    let sending = true;
    const sender = async (session: number) => {
      for (let index = 0; sending; index++) {
        const messageId = `<crash-${session}-${index}@citizen.test>`;
        const from = `sender${session}@citizen.test`;
        const message = `From: ${from}\r\nTo: rh@wasl.local\r\nSubject: Lettre ${session}-${index}\r\nMessage-ID: ${messageId}\r\n\r\nCorps de la lettre ${session}-${index}.\r\n`;
        // A sender whose letter got no 250 sends the same message again, as a real client does.
        for (;;) {
          try {
            const reply = await sendLetter({ port: smtpPort, from, to: ['rh@wasl.local'], message });
            if (reply.data?.code === 250) {
              acknowledged.set(messageId, /\d{4}-A-\d{6}/.exec(reply.data.text)![0]);
              break;
            }
          } catch {
            // Connection refused or cut by the kill: the gateway is restarting.
          }
          await sleep(30);
        }
      }
    };
    const senders = Array.from({ length: 4 }, (_, session) => sender(session));

    /**
     * Waits for the gateway to answer `count` more letters: it is taking letters when it is killed,
     * however slow the machine, and the kill falls at a random point of the stream.
     */
    const answered = (count: number) => {
      const target = acknowledged.size + count;
      return waitFor(() => acknowledged.size >= target, { timeoutMs: 60_000, what: `${count} more letters answered` });
    };
    for (let kill = 0; kill < 3; kill++) {
      await answered(3 + Math.floor(random() * 6));
      gateway.kill('SIGKILL');
      await once(gateway, 'close');
      gateway = await startGateway();
    }
    // The last start takes letters too.
    await answered(3);
    sending = false;
    await Promise.all(senders);

    const database = new Database(join(dataDir, 'wasl.sqlite'), { readonly: true });
    try {
      // Prepared once, not on every poll, and kept (see keep-alive.ts).
      const unsent = database.prepare("select count(*) as n from deliveries where status != 'sent'");
      keepUntilExit(database, unsent);
      await waitFor(() => (unsent.get() as { n: number }).n === 0, {
        timeoutMs: 30_000,
        what: 'every delivery sent',
      });
      const registered = database.prepare("select number, sequence, external_id as externalId from letters where direction = 'A' order by sequence");
      keepUntilExit(registered);
      const rows = registered.all() as { number: string; sequence: number; externalId: string }[];

      expect(acknowledged.size).toBeGreaterThan(10);
      // Every letter that got 250 is in the register exactly once, under the number it was given.
      for (const [messageId, number] of acknowledged) {
        expect(rows.filter((row) => row.externalId === messageId).map((row) => row.number)).toEqual([number]);
      }
      // Retried letters never registered twice, and numbers are gapless and unique.
      expect(new Set(rows.map((row) => row.externalId)).size).toBe(rows.length);
      expect(rows.map((row) => row.sequence)).toEqual(rows.map((_, index) => index + 1));

      // Every registered letter reached the department and its sender at least once.
      const forwards = sink.to('rh-team@dept.test');
      for (const row of rows) {
        const copies = forwards.filter((message) => message.parsed.headers.get('x-wasl-number') === row.number);
        expect(copies.length, `forwards of ${row.number}`).toBeGreaterThanOrEqual(1);
        // A forward sent again after a crash is the same message: the department can tell.
        expect(new Set(copies.map((message) => message.parsed.messageId)).size).toBe(1);
        const sender = row.externalId.replace(/^<crash-(\d+)-.*$/, 'sender$1@citizen.test');
        expect(sink.to(sender).some((message) => message.parsed.headers.get('x-wasl-number') === row.number), `receipt of ${row.number}`).toBe(true);
      }
    } finally {
      database.close();
    }
  });
});
