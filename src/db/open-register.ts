/**
 * Opens the register the configuration names: PostgreSQL when `database.url` is set (shared by
 * every gateway given that URL), else the embedded SQLite file in the data directory. Everything
 * after this sees only the unit of work; which engine it is matters to the few places that say
 * so (`engine`), such as the data directory's lock.
 */
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { WaslConfig } from '../config/config.load.js';
import { isPostgresUrl } from '../config/config.schema.js';
import { WaslError } from '../errors.js';
import { restrictFilesToOwner } from '../paths.js';
import type { FlushToDisk } from './group-commit.js';
import type { PostgresRegister } from './postgres-register.js';
import type { SqliteRegister } from './sqlite-register.js';

export type EngineRegister = SqliteRegister | PostgresRegister;

/** The SQLite register's file in a data directory. */
export const sqliteRegisterFile = (dataDir: string): string => join(dataDir, 'wasl.sqlite');

/** The register file of a data directory, which must be there: on a mistyped dataDir, an empty one made anew would answer "no letters". */
export function existingSqliteRegisterFile(dataDir: string): string {
  const file = sqliteRegisterFile(dataDir);
  if (!existsSync(file)) {
    throw new WaslError('register.missing', `no register at ${file}: the gateway has not run with this data directory yet (dataDir); check --config and WASL_DATA_DIR`);
  }
  return file;
}

/** Where the register is, as logs and messages may show it (no password). */
export function describeRegister(config: WaslConfig): string {
  return config.database.url === undefined ? sqliteRegisterFile(config.dataDir) : describePostgresUrl(config.database.url);
}

/** A PostgreSQL URL without its password. */
export function describePostgresUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.password = '';
    return parsed.toString();
  } catch {
    return 'the PostgreSQL register (database.url)';
  }
}

/** The gateway's register: made if missing and brought to the code's schema. */
export async function openGatewayRegister({
  config,
  flushToDisk,
  onBatch,
}: {
  config: WaslConfig;
  flushToDisk?: FlushToDisk | undefined;
  onBatch?: (size: number, heldSeconds: number) => void;
}): Promise<EngineRegister> {
  const { database } = config;
  if (database.url !== undefined) {
    // Loaded only here: a gateway on SQLite never loads pg.
    const { openPostgresRegister } = await import('./postgres-register.js');
    return reached(database.url, openPostgresRegister({ url: database.url, ...postgresSettings(database), ...(onBatch ? { onBatch } : {}) }));
  }
  const { openSqliteRegister } = await import('./sqlite-register.js');
  const file = sqliteRegisterFile(config.dataDir);
  const register = openSqliteRegister({ file, busyTimeoutMs: database.busyTimeoutMs, flushToDisk, ...(onBatch ? { onBatch } : {}) });
  // SQLite gives the -wal and -shm it makes later the mode of the database file (os_unix.c, findCreateFileMode).
  restrictFilesToOwner([file, `${file}-wal`, `${file}-shm`]);
  return register;
}

/**
 * A register a gateway made, as the command line opens it: never made, never migrated (the
 * gateways own the schema); a missing or older one is refused with what to do.
 */
export async function openExistingRegister(config: WaslConfig): Promise<EngineRegister> {
  const { database } = config;
  if (database.url !== undefined) {
    const { openPostgresRegister } = await import('./postgres-register.js');
    return reached(database.url, openPostgresRegister({ url: database.url, ...postgresSettings(database), readConnections: 2, migrate: false }));
  }
  const file = existingSqliteRegisterFile(config.dataDir);
  const { openExistingSqliteRegister } = await import('./sqlite-register.js');
  return openExistingSqliteRegister({ file, busyTimeoutMs: database.busyTimeoutMs });
}

/**
 * An empty register to copy one into (`wasl register copy`): a PostgreSQL database by its URL,
 * brought to the code's schema, or a SQLite file, made with it. An existing file is refused,
 * whatever it holds: it may be another office's register or a backup. `discard` closes it after a
 * failed copy and removes a file it made, so that the same command can be run again.
 */
export async function openNewRegister(target: string, config: WaslConfig): Promise<{ register: EngineRegister; where: string; file?: string; discard(): Promise<void> }> {
  if (/^postgres(ql)?:/i.test(target)) {
    // Not echoed: a URL that does not parse may still hold a password.
    if (!isPostgresUrl(target)) throw new WaslError('cli.usage', 'the target is not a valid postgres:// URL (postgres://user:password@host:port/database; percent-encode @, : and / in the password)');
    const { openPostgresRegister } = await import('./postgres-register.js');
    const register = await reached(target, openPostgresRegister({ url: target, ...postgresSettings(config.database), readConnections: 1 }));
    // A failed copy is rolled back: the database is left an empty register.
    return { register, where: describePostgresUrl(target), discard: () => register.close() };
  }
  const file = resolve(target);
  if (existsSync(file)) throw new WaslError('copy.target_exists', `${file} exists: nothing was copied; name a new file, or a postgres:// URL`);
  const { openSqliteRegister } = await import('./sqlite-register.js');
  const files = [file, `${file}-wal`, `${file}-shm`];
  let register: SqliteRegister;
  try {
    register = openSqliteRegister({ file, busyTimeoutMs: config.database.busyTimeoutMs });
  } catch (error) {
    throw new WaslError('copy.target_unwritable', `cannot make ${file}: ${(error as Error).message}`);
  }
  restrictFilesToOwner(files);
  return {
    register,
    where: file,
    file,
    async discard() {
      await register.close();
      for (const made of files) rmSync(made, { force: true });
    },
  };
}

/** A server that cannot be reached or refuses us is said as such, with where, not as pg's bare error. */
async function reached(url: string, opening: Promise<PostgresRegister>): Promise<PostgresRegister> {
  try {
    return await opening;
  } catch (error) {
    if (error instanceof WaslError) throw error;
    throw new WaslError('register.unreachable', `cannot open the register at ${describePostgresUrl(url)}: ${(error as Error).message}`);
  }
}

function postgresSettings(database: WaslConfig['database']) {
  return { connectTimeoutMs: database.connectTimeoutMs, statementTimeoutMs: database.statementTimeoutMs, readConnections: database.readConnections };
}
