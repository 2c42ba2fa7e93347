/**
 * For suites that run the same tests on each engine the register runs on: a PostgreSQL server for
 * the test file (started before its tests, stopped after), and each engine's register, fresh for
 * each test. Call it once at the top of a test file.
 */
import { afterAll, beforeAll } from 'vitest';
import type { RegisterTx } from '../../src/db/register-tx.js';
import type { UnitOfWork } from '../../src/db/unit-of-work.js';
import { POSTGRES_SKIP_REASON, startPostgres, temporaryPostgresRegister, type PostgresServer } from './postgres-server.js';
import { temporarySqliteRegister } from './register-file.js';

export interface RegisterEngine {
  name: string;
  open: () => Promise<UnitOfWork<RegisterTx>>;
}

export function registerEngines(): { engines: RegisterEngine[]; postgres: () => PostgresServer } {
  let server: PostgresServer | undefined;
  beforeAll(async () => {
    if (!POSTGRES_SKIP_REASON) server = await startPostgres();
  }, 60_000);
  afterAll(() => server?.stop());
  const postgres = (): PostgresServer => {
    if (!server) throw new Error(`no PostgreSQL server for this test: ${POSTGRES_SKIP_REASON ?? 'it did not start'}`);
    return server;
  };
  return {
    engines: [
      { name: 'SQLite', open: async () => temporarySqliteRegister(async () => {}) },
      ...(POSTGRES_SKIP_REASON ? [] : [{ name: 'PostgreSQL', open: async () => temporaryPostgresRegister(await postgres().createDatabase()) }]),
    ],
    postgres,
  };
}
