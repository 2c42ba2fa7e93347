/**
 * A real PostgreSQL server for the tests: `initdb` and `pg_ctl` in a temporary directory of its
 * own, on a free 127.0.0.1 port, its unix socket in that directory, fsync on (the tests measure
 * real commits). One server per test file (start it in `beforeAll`, stop it in `afterAll`), a
 * fresh database per test. Run as root (CI), the server runs as the `postgres` user, which
 * PostgreSQL requires.
 *
 * Where no server binaries are found, the tests that need one are skipped saying why, unless
 * WASL_REQUIRE_POSTGRES=1 (CI): then starting one fails.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { findPostgresBinaries } from '../../bench/lib/postgres-binaries.mjs';
import { afterAll, beforeAll, onTestFinished } from 'vitest';
import { openPostgresRegister, type PostgresRegister, type PostgresRegisterOptions } from '../../src/db/postgres-register.js';
import { freePort } from './free-port.js';

const run = promisify(execFile);

const BINARIES = findPostgresBinaries();
const REQUIRED = process.env['WASL_REQUIRE_POSTGRES'] === '1';

/** Why the PostgreSQL tests are skipped here, or undefined when they run (or must, and fail). */
export const POSTGRES_SKIP_REASON: string | undefined =
  BINARIES || REQUIRED ? undefined : 'needs a PostgreSQL server (Debian: apt-get install postgresql); WASL_REQUIRE_POSTGRES=1 makes its absence fail';

export interface PostgresServer {
  /** The maintenance database's URL (postgres://postgres@127.0.0.1:PORT/postgres). */
  readonly url: string;
  /** Makes a fresh, empty database and gives its URL. */
  createDatabase(): Promise<string>;
  /** Stops the server as a crash would (immediate shutdown), keeping its data. */
  halt(): Promise<void>;
  /** Starts it again on the same port after `halt`. */
  start(): Promise<void>;
  /**
   * Stops the server's processes where they stand (SIGSTOP), as a server that no longer answers
   * (a lost network, a hung machine): connections open, nothing comes back. `thaw` lets them go on.
   */
  freeze(): Promise<{ thaw(): void }>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

/** A server binary's command line, as `postgres` when we are root (PostgreSQL refuses to run as root). */
function asServerUser(binary: string, args: string[]): [string, string[]] {
  const path = join(BINARIES!, binary);
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
}

/**
 * The test file's server: started before its first test, stopped after its last. Called inside a
 * `describe.skipIf(POSTGRES_SKIP_REASON !== undefined)`; what it returns gives the server in a test.
 */
export function postgresPerFile(): () => PostgresServer {
  let server: PostgresServer | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(() => server?.stop());
  return () => {
    if (!server) throw new Error('the PostgreSQL server of this file did not start');
    return server;
  };
}

export async function startPostgres(): Promise<PostgresServer> {
  if (!BINARIES) throw new Error('WASL_REQUIRE_POSTGRES=1 but no PostgreSQL server binaries were found (/usr/lib/postgresql/*/bin, pg_config --bindir)');
  const directory = mkdtempSync(join(tmpdir(), 'wasl-postgres-'));
  const data = join(directory, 'data');
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(directory, uid, gid);
  }
  const port = await freePort();
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  // initdb's own files need no fsync (a test server lives minutes); the server's commits do.
  const initdb = asServerUser('initdb', ['--pgdata', data, '--username', 'postgres', '--auth', 'trust', '--encoding', 'UTF8', '--locale', 'C', '--no-sync']);
  const settings = [`-p ${port}`, `-k ${directory}`, '-c listen_addresses=127.0.0.1', '-c fsync=on', '-c synchronous_commit=on', '-c shared_buffers=32MB'];
  const start = async (): Promise<void> => {
    await run(...asServerUser('pg_ctl', ['start', '--pgdata', data, '--wait', '--log', join(directory, 'server.log'), '-o', settings.join(' ')]));
  };
  const stopCommand = (mode: 'fast' | 'immediate') => asServerUser('pg_ctl', ['stop', '--pgdata', data, '--wait', '--mode', mode]);
  const stopServer = async (mode: 'fast' | 'immediate'): Promise<void> => {
    await run(...stopCommand(mode));
  };
  try {
    await run(...initdb);
    await start();
  } catch (error) {
    rmSync(directory, { recursive: true, force: true });
    throw error;
  }
  // A test process that ends without its afterAll (a crash, a timeout) must not leave a server running.
  const stopAtExit = (): void => {
    try {
      execFileSync(...stopCommand('immediate'), { stdio: 'ignore' });
    } catch {
      // already stopped
    }
    rmSync(directory, { recursive: true, force: true });
  };
  process.once('exit', stopAtExit);
  let databases = 0;
  let running = true;
  return {
    url,
    async createDatabase() {
      const name = `wasl_test_${++databases}`;
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async halt() {
      await stopServer('immediate');
      running = false;
    },
    async start() {
      await start();
      running = true;
    },
    async freeze() {
      const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      const { stdout } = await run('pgrep', ['-P', String(postmaster)]);
      const processes = [postmaster, ...stdout.split('\n').filter(Boolean).map(Number)];
      for (const pid of processes) process.kill(pid, 'SIGSTOP');
      return { thaw: () => processes.forEach((pid) => process.kill(pid, 'SIGCONT')) };
    },
    async stop() {
      process.off('exit', stopAtExit);
      if (running) await stopServer('fast').catch(() => stopServer('immediate'));
      running = false;
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** The register as a gateway opens it on the database at `url` (from `createDatabase`), closed when the test ends. */
export async function temporaryPostgresRegister(url: string, options: Omit<PostgresRegisterOptions, 'url'> = {}): Promise<PostgresRegister> {
  const register = await openPostgresRegister({ url, ...options });
  onTestFinished(() => register.close());
  return register;
}
