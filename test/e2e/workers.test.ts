/**
 * `wasl start --workers N` as an operator runs it: real processes (a primary and its workers), real
 * SMTP on one shared port, a real PostgreSQL 15 register.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runWasl, spawnWasl } from '../helpers/cli.js';
import { POSTGRES_SKIP_REASON, postgresPerFile } from '../helpers/postgres-server.js';
import { sendLetter } from '../helpers/smtp-client.js';
import { waitFor } from '../helpers/wait.js';

const NUMBER = /\d{4}-A-\d{6}/;
const START_LINE = /registering letters with 2 workers \(pids (\d+), (\d+)\)\. Web (http:\/\/[\d.:]+), SMTP port (\d+)/;

describe('wasl start --workers on the SQLite register', () => {
  it('refuses several workers with exit 2, naming the key and saying to use PostgreSQL, before opening any socket', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wasl-workers-sqlite-'));
    try {
      const env = { WASL_DATA_DIR: dataDir, WASL_HTTP_PORT: '0', WASL_SMTP_PORT: '0' };
      const fromCommandLine = await runWasl({ args: ['start', '--workers', '2'], env });
      expect({ code: fromCommandLine.code, stderr: fromCommandLine.stderr }).toEqual({
        code: 2,
        stderr:
          'wasl: invalid configuration:\n  --workers: 2 gateway processes need the PostgreSQL register (database.url or WASL_DATABASE_URL); on the SQLite register several writer processes were measured slower than one (bench/README.md), so run 1 there\n',
      });
      const fromConfiguration = await runWasl({ args: ['start'], env: { ...env, WASL_WORKERS: '3' } });
      expect(fromConfiguration.code).toBe(2);
      expect(fromConfiguration.stderr).toContain('  workers: 3 gateway processes need the PostgreSQL register');
      expect(readdirSync(dataDir)).toEqual([]);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(POSTGRES_SKIP_REASON !== undefined)('wasl start --workers 2 on a PostgreSQL register', () => {
  const postgres = postgresPerFile();

  it('serves SMTP from both workers on one port, keeps taking letters while a killed worker is replaced, numbers them gaplessly, and exits 0 on SIGTERM', { timeout: 120_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wasl-workers-'));
    const env = { WASL_DATABASE_URL: await postgres().createDatabase(), WASL_DATA_DIR: dataDir, WASL_HTTP_PORT: '0', WASL_SMTP_PORT: '0', WASL_LOG_LEVEL: 'info' };
    const primary = spawnWasl({ args: ['start', '--workers', '2'], env });
    let stderr = '';
    primary.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => primary.on('close', resolve));
    try {
      await waitFor(() => START_LINE.test(stderr), { timeoutMs: 60_000, what: 'the start line' });
      const [, firstPid, , web, smtp] = START_LINE.exec(stderr)!;
      /** The worker of each letter accepted, as its log line says (each worker's lines carry its number). */
      const acceptedBy = () =>
        stderr
          .split('\n')
          .filter((line) => line.startsWith('{'))
          .map((line) => JSON.parse(line) as { msg?: string; worker?: number })
          .filter((line) => line.msg === 'letter accepted')
          .map((line) => line.worker);
      const workersThatAccepted = () => new Set(acceptedBy());
      let sent = 0;
      const sendLetters = (count: number) =>
        Promise.all(
          Array.from({ length: count }, () => {
            const index = ++sent;
            const message = `From: c${index}@citizen.test\r\nSubject: Lettre ${index}\r\nMessage-ID: <workers-${index}@citizen.test>\r\n\r\nBonjour ${index}\r\n`;
            return sendLetter({ port: Number(smtp), from: `c${index}@citizen.test`, to: ['rh@wasl.local'], message });
          }),
        );

      const replies = await sendLetters(10);
      await waitFor(() => workersThatAccepted().size === 2, { what: 'both workers logging a letter' });
      expect(workersThatAccepted()).toEqual(new Set([1, 2]));

      process.kill(Number(firstPid), 'SIGKILL');
      // A session the killed worker held is cut, as with a lone gateway (the sender retries); once the primary knows it died,
      // and while it starts another, the other worker takes every letter.
      const died = new RegExp(`worker 1 \\(pid ${firstPid}\\) died \\(signal SIGKILL\\)`);
      await waitFor(() => died.test(stderr), { what: 'the primary seeing the worker die' });
      replies.push(...(await sendLetters(5)));
      await waitFor(() => /worker 3 \(pid \d+\) started/.test(stderr), { timeoutMs: 60_000, what: 'the worker started in place of the killed one' });
      replies.push(...(await sendLetters(10)));
      await waitFor(() => workersThatAccepted().has(3), { what: 'the new worker logging a letter' });

      expect(replies.map((reply) => reply.data?.code)).toEqual(Array(25).fill(250));
      const numbers = replies.map((reply) => NUMBER.exec(reply.data!.text)![0]).sort();
      const year = numbers[0]!.slice(0, 4);
      expect(numbers).toEqual(Array.from({ length: 25 }, (_, index) => `${year}-A-${String(index + 1).padStart(6, '0')}`));
      // /metrics answers for every worker, whichever takes the request.
      const metrics = await (await fetch(`${web}/metrics`)).text();
      const registeredByLiveWorkers = Number(/wasl_letters_registered_total\{channel="email",direction="incoming"\} (\d+)/.exec(metrics)?.[1]);
      expect(registeredByLiveWorkers).toBe(acceptedBy().filter((worker) => worker !== 1).length);

      const verified = await runWasl({ args: ['register', 'verify'], env });
      expect({ code: verified.code, stdout: verified.stdout }).toEqual({ code: 0, stdout: 'register intact: 25 entries checked\n' });

      primary.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      primary.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
