/**
 * One gateway per SQLite data directory. Two gateways writing one register would each number
 * letters from their own group commit and flush only their own WAL writes: refused unless meant.
 *
 * The lock is SQLite's own file lock (POSIX fcntl) on a small file of the directory, held by an
 * exclusive transaction that is never committed: the kernel drops it when the process ends, however
 * it ends (SIGKILL, power cut), so a dead gateway never leaves the directory locked. A pid file
 * beside it only names the holder in the refusal; it is never what decides.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { WaslError } from '../errors.js';
import { restrictFilesToOwner } from '../paths.js';

export interface DataDirLock {
  release(): void;
}

/**
 * `refusal` says why another gateway must not be running, when it is not a second gateway that
 * asks (`wasl register copy` copies a register that must not change meanwhile).
 */
export function lockDataDirectory(dataDir: string, refusal?: (holder: string) => string): DataDirLock {
  const lockFile = join(dataDir, 'gateway.lock');
  const pidFile = join(dataDir, 'gateway.pid');
  const lock = new Database(lockFile);
  restrictFilesToOwner([lockFile]);
  try {
    // Fails at once (no busy timeout) while any other connection, in any process, holds it.
    lock.exec('PRAGMA busy_timeout = 0');
    // Nothing is ever written to it: no journal file beside it.
    lock.exec('PRAGMA journal_mode = MEMORY');
    lock.exec('BEGIN EXCLUSIVE');
  } catch (error) {
    lock.close();
    if ((error as { code?: string }).code !== 'SQLITE_BUSY') throw error;
    const holder = holderOf(pidFile);
    throw new WaslError(
      'data.locked',
      refusal?.(holder) ?? `another gateway (${holder}) is running on the data directory ${dataDir}; stop it first, or set database.lockDataDir: false if several gateways are meant to share it`,
    );
  }
  writeFileSync(pidFile, `${process.pid}\n`, { mode: 0o600 });
  return {
    release() {
      if (!lock.open) return;
      rmSync(pidFile, { force: true });
      lock.close();
    },
  };
}

/** Who holds the lock, as its pid file says; it may not have written it yet. */
function holderOf(pidFile: string): string {
  try {
    const pid = readFileSync(pidFile, 'utf8').trim();
    return /^\d+$/.test(pid) ? `pid ${pid}` : 'pid unknown';
  } catch {
    return 'pid unknown';
  }
}
