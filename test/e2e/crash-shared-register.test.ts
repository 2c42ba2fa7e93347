/**
 * The crash test on a shared register: three gateway processes on one real PostgreSQL server take
 * letters from many SMTP sessions spread over them (a sender whose try fails goes to the next
 * gateway, as a client with several MX hosts does), while one gateway at a time, picked at random,
 * is killed with SIGKILL and started again. Nothing that got a 250 may be lost or doubled, numbers
 * stay gapless across the three, every letter is forwarded and receipted, and the chain verifies.
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { runWasl } from '../helpers/cli.js';
import { waitFor } from '../helpers/gateway.js';
import { startMailSink, type MailSink } from '../helpers/mail-sink.js';
import { POSTGRES_SKIP_REASON, startPostgres, type PostgresServer } from '../helpers/postgres-server.js';
import { crashSeed, crashTestGateway, expectEveryLetterKept, seededRandom, steadyLetters, type CrashTestGateway } from '../helpers/steady-load.js';

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
    const gateways: CrashTestGateway[] = [];
    for (let index = 0; index < GATEWAYS; index++) {
      // One data directory: the same signing key and answer secret on every gateway. A killed
      // gateway's sends in flight go to the others once its lease ends.
      gateways.push(await crashTestGateway({ dataDir, name: `gateway-${index}`, relayUrl: sink.url, more: { database: { url }, outbox: { leaseMs: 2000 } } }));
    }
    const startGateway = async (index: number) => {
      running[index] = await gateways[index]!.start();
    };
    // The first makes the keys; the others find them.
    for (let index = 0; index < GATEWAYS; index++) await startGateway(index);

    const letters = steadyLetters({ sessions: 6, portFor: (session, attempt) => gateways[(session + attempt) % GATEWAYS]!.smtpPort });
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

    const verified = await runWasl({ args: ['--config', gateways[0]!.configFile, 'register', 'verify'] });
    expect(verified.stdout).toMatch(/^register intact: \d+ entries checked\n$/);
  });
});
