/**
 * The crash test on a shared register: three gateway processes on one real PostgreSQL server take
 * letters from many SMTP sessions spread over them (a sender whose try fails goes to the next
 * gateway, as a client with several MX hosts does), while one gateway at a time, picked at random,
 * is killed with SIGKILL and started again. Nothing that got a 250 may be lost or doubled, numbers
 * stay gapless across the three, every letter is forwarded and receipted, and the chain verifies.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runWasl, spawnWasl } from '../helpers/cli.js';
import { freePort } from '../helpers/free-port.js';
import { TEST_DEPARTMENTS, waitFor } from '../helpers/gateway.js';
import { startMailSink, type MailSink } from '../helpers/mail-sink.js';
import { POSTGRES_SKIP_REASON, startPostgres, type PostgresServer } from '../helpers/postgres-server.js';
import { crashSeed, expectEveryLetterKept, seededRandom, steadyLetters } from '../helpers/steady-load.js';

const GATEWAYS = 3;

describe.skipIf(POSTGRES_SKIP_REASON !== undefined)('three gateways on one PostgreSQL register, one killed with SIGKILL at a time', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'wasl-crash-pg-'));
  let postgres: PostgresServer | undefined;
  let sink: MailSink | undefined;
  const running: (ChildProcess | undefined)[] = [];
  afterAll(async () => {
    for (const child of running) child?.kill('SIGKILL');
    await sink?.stop();
    await postgres?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('loses nothing that got 250, doubles nothing, numbers stay gapless, every letter is forwarded and receipted, and the chain verifies', { timeout: 240_000 }, async () => {
    const random = seededRandom(crashSeed());
    postgres = await startPostgres();
    const url = await postgres.createDatabase();
    sink = await startMailSink();
    const smtpPorts: number[] = [];
    const configFiles: string[] = [];
    for (let index = 0; index < GATEWAYS; index++) {
      const [smtpPort, httpPort] = [await freePort(), await freePort()];
      smtpPorts.push(smtpPort);
      const configFile = join(dataDir, `gateway-${index}.yaml`);
      configFiles.push(configFile);
      writeFileSync(
        configFile,
        stringify({
          // One data directory: the same signing key and answer secret on every gateway.
          dataDir,
          http: { port: httpPort },
          log: { level: 'silent' },
          database: { url },
          // A killed gateway's sends in flight go to the others once this lease ends.
          outbox: { pollIntervalMs: 50, retryBaseMs: 100, retryMaxMs: 500, maxAttempts: 50, leaseMs: 2000 },
          receipts: { perSenderPerHour: 1000 },
          departments: TEST_DEPARTMENTS,
          adapters: { email: { smtp: { port: smtpPort }, outbound: { url: sink.url } } },
        }),
      );
    }

    const startGateway = async (index: number) => {
      const child = spawnWasl({ args: ['--config', configFiles[index]!, 'start'] });
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      await waitFor(() => stderr.includes('registering letters'), { timeoutMs: 30_000, what: `gateway ${index} to start` });
      running[index] = child;
    };
    // The first makes the keys; the others find them.
    for (let index = 0; index < GATEWAYS; index++) await startGateway(index);

    const letters = steadyLetters({ sessions: 6, portFor: (session, attempt) => smtpPorts[(session + attempt) % GATEWAYS]! });
    for (let kill = 0; kill < 3; kill++) {
      await letters.answered(3 + Math.floor(random() * 6));
      const victim = Math.floor(random() * GATEWAYS);
      running[victim]!.kill('SIGKILL');
      await once(running[victim]!, 'close');
      running[victim] = undefined;
      await letters.answered(2 + Math.floor(random() * 4));
      await startGateway(victim);
    }
    await letters.answered(4);
    await letters.stop();

    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const count = async (query: string) => Number((await client.query<{ n: string }>(query)).rows[0]!.n);
      await waitFor(async () => (await count("select count(*) as n from deliveries where status != 'sent'")) === 0, { timeoutMs: 60_000, what: 'every delivery sent' });
      const { rows } = await client.query<{ number: string; sequence: number; externalId: string }>(
        "select number, sequence, external_id as \"externalId\" from letters where direction = 'A' order by sequence",
      );
      expectEveryLetterKept({ rows, acknowledged: letters.acknowledged, sink });
    } finally {
      await client.end();
    }

    const verified = await runWasl({ args: ['--config', configFiles[0]!, 'register', 'verify'] });
    expect(verified.stdout).toMatch(/^register intact: \d+ entries checked\n$/);
  });
});
