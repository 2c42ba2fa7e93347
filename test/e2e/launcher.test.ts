/**
 * The installed `wasl` command (bin/wasl, then the built CLI), as `npx wasl start` runs it: on a
 * Node.js whose time-zone release is older than the one shipped in vendor/icu-tzdata, the gateway's
 * calendar runs on the shipped one, and the process is Node.js itself (a stop reaches the gateway).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { shippedTimeZoneData } from '../../src/letters/time-zone-data.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { TEST_DEPARTMENTS, waitFor } from '../helpers/gateway.js';
import { startMailSink } from '../helpers/mail-sink.js';
import { composeMessage } from '../helpers/messages.js';
import { sendLetter } from '../helpers/smtp-client.js';
import { freePort } from '../helpers/free-port.js';

const LAUNCHER = join(PROJECT_ROOT, 'bin', 'wasl');
let dataDir: string | undefined;

afterEach(() => {
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

describe('the wasl command', () => {
  it('starts the gateway on the newer of Node’s and the shipped time-zone releases, and stops with it on SIGTERM', async () => {
    // The command runs the built CLI: `npm install` and `npm ci` build it (the prepare script).
    expect(existsSync(join(PROJECT_ROOT, 'dist', 'src', 'cli', 'main.js')), 'dist/ is built (npm run build)').toBe(true);
    dataDir = mkdtempSync(join(tmpdir(), 'wasl-launcher-'));
    const { ICU_TIMEZONE_FILES_DIR: _ignored, ...inherited } = process.env;
    const child = spawn(LAUNCHER, ['start'], {
      env: { ...inherited, WASL_DATA_DIR: dataDir, WASL_SMTP_PORT: '0', WASL_HTTP_PORT: '0', WASL_LOG_LEVEL: 'info' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await waitFor(() => log.includes('wasl gateway started'), { timeoutMs: 15_000, what: 'the gateway to start' });

    const lines = log.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg: string; calendar?: { tzdata: string } });
    const started = lines.find((line) => line.msg === 'wasl gateway started')!;
    const shipped = shippedTimeZoneData()!.release;
    const own = process.versions.tz!;
    expect(started.calendar!.tzdata).toBe(own > shipped ? own : shipped);
    expect(lines.filter((line) => line.msg.includes('time-zone release'))).toEqual([]);

    // The launcher replaced itself with Node.js: the signal goes to the gateway, which stops cleanly.
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(log).toContain('wasl gateway stopped');
  });

  it('reads the register the gateway made with the other commands, which run from the bundle of the command line', async () => {
    expect(existsSync(join(PROJECT_ROOT, 'dist', 'cli', 'main.js')), 'the bundle is built (npm run build)').toBe(true);
    dataDir = mkdtempSync(join(tmpdir(), 'wasl-launcher-'));
    const env = { ...process.env, WASL_DATA_DIR: dataDir, WASL_SMTP_PORT: '0', WASL_HTTP_PORT: '0', WASL_LOG_LEVEL: 'info' };
    const gateway = spawn(LAUNCHER, ['start'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    gateway.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => gateway.on('exit', (code) => resolve(code)));
    await waitFor(() => log.includes('wasl gateway started'), { timeoutMs: 15_000, what: 'the gateway to start' });
    gateway.kill('SIGTERM');
    expect(await exited).toBe(0);

    const listed = spawnSync(LAUNCHER, ['letters', 'list', '--json'], { env, encoding: 'utf8' });
    expect({ code: listed.status, stderr: listed.stderr, letters: JSON.parse(listed.stdout || 'null') }).toEqual({ code: 0, stderr: '', letters: [] });
    const shown = spawnSync(LAUNCHER, ['letters', 'show', '2026-A-000001'], { env, encoding: 'utf8' });
    expect({ code: shown.status, stderr: shown.stderr }).toEqual({ code: 1, stderr: 'wasl: no letter has the number 2026-A-000001\n' });
  });

  it('runs the gateway with its heap settings, and a letter as large as the shipped limit still goes through, its attachment forwarded byte for byte', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'wasl-launcher-'));
    const sink = await startMailSink();
    const smtpPort = await freePort();
    const configFile = join(dataDir, 'wasl.yaml');
    // JSON is YAML. The shipped size limit (25 MiB): the heap settings must not stand in its way.
    writeFileSync(configFile, JSON.stringify({
      dataDir: join(dataDir, 'data'),
      mail: { domain: 'wasl.local' },
      http: { host: '127.0.0.1', port: 0 },
      routing: { fallbackDepartment: 'BO' },
      departments: TEST_DEPARTMENTS,
      adapters: { email: { smtp: { host: '127.0.0.1', port: smtpPort, greetingDelayMs: 0 }, outbound: { url: sink.url } } },
    }));
    const { ICU_TIMEZONE_FILES_DIR: _ignored, ...inherited } = process.env;
    const gateway = spawn(LAUNCHER, ['start', '--config', configFile], { env: { ...inherited, WASL_LOG_LEVEL: 'info' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    gateway.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => gateway.on('exit', (code) => resolve(code)));
    try {
      await waitFor(() => log.includes('wasl gateway started'), { timeoutMs: 15_000, what: 'the gateway to start' });
      const commandLine = readFileSync(`/proc/${gateway.pid}/cmdline`, 'utf8').split('\0');
      expect(commandLine).toEqual(expect.arrayContaining(['--max-semi-space-size=4', '--heap-growing-percent=10']));

      // 18 MiB of attachment is 24.3 MiB of base64 lines: just under the limit of 25 MiB.
      const attachment = randomBytes(18 * 1024 * 1024);
      const message = await composeMessage({
        from: 'citizen@example.test',
        to: 'courrier@wasl.local',
        subject: 'Plans du projet',
        text: 'Veuillez trouver les plans ci-joints.',
        attachments: [{ filename: 'plans.bin', content: attachment }],
      });
      expect(message.length).toBeLessThan(25 * 1024 * 1024);
      expect(message.length).toBeGreaterThan(24 * 1024 * 1024);
      const { data } = await sendLetter({ port: smtpPort, from: 'citizen@example.test', to: ['courrier@wasl.local'], message });
      expect(data?.code).toBe(250);

      const [forward] = await sink.waitForMessages(1, { to: 'bo-team@dept.test', timeoutMs: 60_000 });
      const forwarded = forward!.parsed.attachments.find((each) => each.filename === 'plans.bin');
      const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
      expect(forwarded && sha256(forwarded.content)).toBe(sha256(attachment));
    } finally {
      gateway.kill('SIGTERM');
      await exited;
      await sink.stop();
    }
    expect(log).toContain('wasl gateway stopped');
  }, 120_000);
});
