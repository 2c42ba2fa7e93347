/**
 * Crash at any moment: the gateway runs as its own process, takes a steady stream of letters from
 * several sessions, and is killed with SIGKILL at random moments and started again. Nothing that
 * got a 250 may be lost or doubled, numbers stay gapless, and every letter is forwarded and
 * receipted; the department sees a letter twice only as the same message (same Message-ID).
 */
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { waitFor } from '../helpers/gateway.js';
import { keepUntilExit } from '../helpers/keep-alive.js';
import { startMailSink, type MailSink } from '../helpers/mail-sink.js';
import { crashSeed, crashTestGateway, expectEveryLetterKept, seededRandom, steadyLetters } from '../helpers/steady-load.js';

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
    const random = seededRandom(crashSeed());
    sink = await startMailSink();
    const { smtpPort, start: startGateway } = await crashTestGateway({ dataDir, name: 'wasl', relayUrl: sink.url });
    gateway = await startGateway();

    const letters = steadyLetters({ sessions: 4, portFor: () => smtpPort });
    for (let kill = 0; kill < 3; kill++) {
      await letters.answered(3 + Math.floor(random() * 6));
      gateway.kill('SIGKILL');
      await once(gateway, 'close');
      gateway = await startGateway();
    }
    // The last start takes letters too.
    await letters.answered(3);
    await letters.stop();

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
      expectEveryLetterKept({ rows: registered.all() as { number: string; sequence: number; externalId: string }[], acknowledged: letters.acknowledged, sink });
    } finally {
      database.close();
    }
  });
});
