/**
 * Where this machine's PostgreSQL server programs (initdb, pg_ctl, postgres) are: Debian's newest
 * versioned folder, else pg_config's. Shared by the benchmark's server and the tests' (a plain
 * module of node: imports only, so both can load it).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The folder of initdb and pg_ctl, or undefined when there is none. */
export function findPostgresBinaries() {
  const debian = '/usr/lib/postgresql';
  const versions = existsSync(debian) ? readdirSync(debian).sort((a, b) => Number(b) - Number(a)) : [];
  for (const version of versions) if (existsSync(join(debian, version, 'bin', 'pg_ctl'))) return join(debian, version, 'bin');
  try {
    const bindir = execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    if (existsSync(join(bindir, 'pg_ctl'))) return bindir;
  } catch {
    // no pg_config: no server
  }
  return undefined;
}
