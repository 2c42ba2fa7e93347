/**
 * The PostgreSQL server the `wasl-pg` systems register on: `initdb` and `pg_ctl` in a temporary
 * directory of the benchmark's own, on a free 127.0.0.1 port, with PostgreSQL's durable defaults
 * (`fsync` and `synchronous_commit` on: a COMMIT is on disk when it returns, as the gateway's
 * 250 promises). Run as root, the server runs as the `postgres` user, which PostgreSQL requires.
 * One server for the whole invocation, a fresh database for each run; stopped and removed at the end.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onCleanup, removeOnExit } from './cleanup.mjs';

export { findPostgresBinaries } from './postgres-binaries.mjs';

export function startPostgres({ binaries, port }) {
  const asServerUser = (binary, args) => {
    const path = join(binaries, binary);
    const [command, commandArgs] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
    return execFileSync(command, commandArgs, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  };
  const directory = mkdtempSync(join(tmpdir(), 'wasl-bench-postgres-'));
  removeOnExit(directory);
  if (process.getuid?.() === 0) {
    const id = (flag) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(directory, id('-u'), id('-g'));
  }
  const data = join(directory, 'data');
  asServerUser('initdb', ['--pgdata', data, '--username', 'postgres', '--auth', 'trust', '--encoding', 'UTF8', '--locale', 'C', '--no-sync']);
  // max_connections: each gateway keeps 12 (docs/operations.md), the command line a few more.
  const settings = [`-p ${port}`, `-k ${directory}`, '-c listen_addresses=127.0.0.1', '-c fsync=on', '-c synchronous_commit=on', '-c max_connections=200'];
  asServerUser('pg_ctl', ['start', '--pgdata', data, '--wait', '--log', join(directory, 'server.log'), '-o', settings.join(' ')]);
  let running = true;
  const stop = () => {
    if (!running) return;
    running = false;
    try {
      asServerUser('pg_ctl', ['stop', '--pgdata', data, '--wait', '--mode', 'fast']);
    } catch {
      asServerUser('pg_ctl', ['stop', '--pgdata', data, '--wait', '--mode', 'immediate']);
    }
  };
  onCleanup(stop);
  let databases = 0;
  return {
    /** The server's first process, whose children are the connections' backends: its family's CPU is the register's. */
    pid: Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]),
    /** A fresh, empty database for one run; its URL. */
    createDatabase() {
      const name = `wasl_bench_${++databases}`;
      execFileSync(join(binaries, 'createdb'), ['--host', '127.0.0.1', '--port', String(port), '--username', 'postgres', name], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    stop,
  };
}
