/**
 * A steady stream of letters for the crash tests: sessions that send letter after letter over
 * SMTP, each sending the same message again until it gets a 250 (as a real client does), and the
 * checks every crash test makes once the stream has stopped.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import { spawnWasl } from './cli.js';
import { freePort } from './free-port.js';
import { deepMerge, TEST_DEPARTMENTS, type PartialConfig } from './gateway.js';
import type { MailSink } from './mail-sink.js';
import { sendLetter } from './smtp-client.js';
import { waitFor } from './wait.js';

/** A small seeded generator, so a failing run can be replayed with the printed seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of this run: WASL_CRASH_SEED replays one, printed so that a failure can be. */
export function crashSeed(): number {
  const seed = Number(process.env.WASL_CRASH_SEED ?? Date.now() % 1_000_000);
  console.info(`crash test seed: ${seed} (replay with WASL_CRASH_SEED=${seed})`);
  return seed;
}

export interface CrashTestGateway {
  readonly configFile: string;
  readonly smtpPort: number;
  /** Runs `wasl start` as a process of its own; resolves once it takes letters. */
  start(): Promise<ChildProcess>;
}

/**
 * A gateway to kill and start again: its configuration file `name`.yaml in the data directory
 * (ports fixed now, so a restart listens where the senders send), the sink as its relay.
 */
export async function crashTestGateway({ dataDir, name, relayUrl, more = {} }: { dataDir: string; name: string; relayUrl: string; more?: PartialConfig }): Promise<CrashTestGateway> {
  const [smtpPort, httpPort] = [await freePort(), await freePort()];
  const configFile = join(dataDir, `${name}.yaml`);
  const settings: PartialConfig = {
    dataDir,
    http: { port: httpPort },
    log: { level: 'silent' },
    outbox: { pollIntervalMs: 50, retryBaseMs: 100, retryMaxMs: 500, maxAttempts: 50 },
    receipts: { perSenderPerHour: 1000 },
    departments: TEST_DEPARTMENTS,
    adapters: { email: { smtp: { port: smtpPort }, outbound: { url: relayUrl } } },
  };
  writeFileSync(configFile, stringify(deepMerge(settings, more)));
  return {
    configFile,
    smtpPort,
    async start() {
      const child = spawnWasl({ args: ['--config', configFile, 'start'] });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      await waitFor(() => stderr.includes('registering letters'), { timeoutMs: 30_000, what: `${name} to start` });
      return child;
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface SteadyLetters {
  /** Message-ID -> the number its 250 carried. */
  readonly acknowledged: ReadonlyMap<string, string>;
  /** Waits for `count` more letters answered 250, however slow the machine. */
  answered(count: number): Promise<void>;
  /** Stops sending once each session's letter in hand is answered. */
  stop(): Promise<void>;
}

/**
 * `sessions` senders to rh@wasl.local. `portFor(session, attempt)` picks the gateway each try goes
 * to: one port, or the next gateway after a failure, as a client with several MX hosts does.
 */
export function steadyLetters({ sessions, portFor }: { sessions: number; portFor: (session: number, attempt: number) => number }): SteadyLetters {
  const acknowledged = new Map<string, string>();
  let sending = true;
  const sender = async (session: number) => {
    for (let index = 0; sending; index++) {
      const messageId = `<crash-${session}-${index}@citizen.test>`;
      const from = `sender${session}@citizen.test`;
      const message = `From: ${from}\r\nTo: rh@wasl.local\r\nSubject: Lettre ${session}-${index}\r\nMessage-ID: ${messageId}\r\n\r\nCorps de la lettre ${session}-${index}.\r\n`;
      for (let attempt = 0; ; attempt++) {
        try {
          const reply = await sendLetter({ port: portFor(session, attempt), from, to: ['rh@wasl.local'], message });
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
  const senders = Array.from({ length: sessions }, (_, session) => sender(session));
  return {
    acknowledged,
    answered(count) {
      const target = acknowledged.size + count;
      return waitFor(() => acknowledged.size >= target, { timeoutMs: 60_000, what: `${count} more letters answered` });
    },
    async stop() {
      sending = false;
      await Promise.all(senders);
    },
  };
}

/**
 * What must hold after the crashes: every letter that got 250 is in the register once under its
 * number, numbers are gapless, and each letter reached the department (always as the same
 * message: one Message-ID however often it was sent again) and its sender.
 */
export function expectEveryLetterKept({
  rows,
  acknowledged,
  sink,
}: {
  /** The register's incoming letters, in sequence order. */
  rows: { number: string; sequence: number; externalId: string }[];
  acknowledged: ReadonlyMap<string, string>;
  sink: MailSink;
}): void {
  expect(acknowledged.size).toBeGreaterThan(10);
  for (const [messageId, number] of acknowledged) {
    expect(rows.filter((row) => row.externalId === messageId).map((row) => row.number)).toEqual([number]);
  }
  // Retried letters never registered twice, and numbers are gapless and unique.
  expect(new Set(rows.map((row) => row.externalId)).size).toBe(rows.length);
  expect(rows.map((row) => row.sequence)).toEqual(rows.map((_, index) => index + 1));

  const forwards = sink.to('rh-team@dept.test');
  for (const row of rows) {
    const copies = forwards.filter((message) => message.parsed.headers.get('x-wasl-number') === row.number);
    expect(copies.length, `forwards of ${row.number}`).toBeGreaterThanOrEqual(1);
    // A forward sent again after a crash is the same message: the department can tell.
    expect(new Set(copies.map((message) => message.parsed.messageId)).size).toBe(1);
    const sender = row.externalId.replace(/^<crash-(\d+)-.*$/, 'sender$1@citizen.test');
    expect(sink.to(sender).some((message) => message.parsed.headers.get('x-wasl-number') === row.number), `receipt of ${row.number}`).toBe(true);
  }
}
