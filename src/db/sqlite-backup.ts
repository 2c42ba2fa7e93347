/**
 * `wasl backup FILE` for the SQLite register: SQLite's online backup, taken beside a running
 * gateway (it reads a snapshot; the gateway keeps writing), then checked before it is trusted.
 *
 * The copy is made under a temporary name in the target's folder and renamed into place only once
 * `PRAGMA quick_check` passes: a FILE that exists is always a whole, checked register. It is
 * turned from WAL to a rollback journal, so it is one self-contained file, and is its owner's alone
 * (0600) like the register. Keys and the answer secret are files of the data directory, not in it.
 */
import { existsSync, renameSync, rmSync, statSync, chmodSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { WaslError } from '../errors.js';

export interface SqliteBackupReport {
  /** The copy, as an absolute path. */
  target: string;
  letters: number;
  bytes: number;
}

export async function backupSqliteRegister({
  registerFile,
  target: given,
  force,
  busyTimeoutMs,
}: {
  registerFile: string;
  target: string;
  /** Replace a file already at the target. */
  force: boolean;
  busyTimeoutMs: number;
}): Promise<SqliteBackupReport> {
  const target = resolve(given);
  if (isTheRegister(target, registerFile)) {
    throw new WaslError('backup.target_is_register', `${given} is the register itself (or its journal): name another file for the copy`);
  }
  if (existsSync(target) && !force) {
    throw new WaslError('backup.target_exists', `${given} exists: nothing was written; give --force to replace it, or name another file`);
  }
  const partial = `${target}.partial`;
  rmSync(partial, { force: true });
  // Made first with its mode: SQLite then writes into it, and never widens it.
  writeFileSync(partial, '', { mode: 0o600 });
  try {
    const source = new Database(registerFile, { fileMustExist: true });
    try {
      source.exec(`PRAGMA busy_timeout = ${Math.floor(busyTimeoutMs)}`);
      // Every page after the first step in one step: one read snapshot, never restarted by the gateway's writes.
      await source.backup(partial, { progress: ({ totalPages }) => totalPages });
    } finally {
      source.close();
    }
    const letters = checkCopy(partial);
    chmodSync(partial, 0o600);
    renameSync(partial, target);
    return { target, letters, bytes: statSync(target).size };
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
}

/** quick_check on the copy, made one file; how many letters it holds. */
function checkCopy(file: string): number {
  const copy = new Database(file, { fileMustExist: true });
  try {
    copy.exec('PRAGMA journal_mode = DELETE');
    const problems = (copy.prepare('PRAGMA quick_check').all() as { quick_check: string }[]).map((row) => row.quick_check);
    if (problems.join() !== 'ok') {
      throw new WaslError('backup.check_failed', `the copy does not pass quick_check (${problems.slice(0, 3).join('; ')}); it was not kept`);
    }
    return (copy.prepare('SELECT count(*) AS letters FROM letters').get() as { letters: number }).letters;
  } finally {
    copy.close();
  }
}

/** By path, and by inode when the target exists (a link to the register is the register). */
function isTheRegister(target: string, registerFile: string): boolean {
  const register = resolve(registerFile);
  if ([register, `${register}-wal`, `${register}-shm`, `${register}-journal`].includes(target)) return true;
  if (!existsSync(target)) return false;
  const [one, other] = [statSync(target), statSync(register)];
  return one.dev === other.dev && one.ino === other.ino;
}
