/** A register in a real SQLite file of its own, removed when the test that asked for it ends. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { openDatabase, type Db } from '../../src/db/db.js';
import type { FlushToDisk } from '../../src/db/group-commit.js';
import { openSqliteRegister, type SqliteRegister } from '../../src/db/sqlite-register.js';
import { keepUntilExit } from './keep-alive.js';

export function temporaryRegister(): Db {
  const directory = mkdtempSync(join(tmpdir(), 'wasl-register-'));
  const db = openDatabase({ file: join(directory, 'register.sqlite') });
  onTestFinished(() => {
    db.$client.close();
    keepUntilExit(db.$client);
    rmSync(directory, { recursive: true, force: true });
  });
  return db;
}

/** The register as the gateway opens it (the unit of work over a real SQLite file), closed and removed when the test ends. */
export function temporarySqliteRegister(flushToDisk?: FlushToDisk): SqliteRegister {
  const directory = mkdtempSync(join(tmpdir(), 'wasl-register-'));
  const database = openSqliteRegister({ file: join(directory, 'register.sqlite'), flushToDisk });
  onTestFinished(async () => {
    await database.close();
    keepUntilExit(database);
    rmSync(directory, { recursive: true, force: true });
  });
  return database;
}
