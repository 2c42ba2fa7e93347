/**
 * The installed `wasl` command (bin/wasl, then the built CLI), as `npx wasl start` runs it: on a
 * Node.js whose time-zone release is older than the one shipped in vendor/icu-tzdata, the gateway's
 * calendar runs on the shipped one, and the process is Node.js itself (a stop reaches the gateway).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { shippedTimeZoneData } from '../../src/letters/time-zone-data.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { waitFor } from '../helpers/gateway.js';

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
});
