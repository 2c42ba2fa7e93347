/**
 * Brings a PostgreSQL register to the code's schema: the committed migrations of
 * drizzle/postgres/, applied by drizzle's node-postgres migrator. Every gateway does it as it
 * starts, under an advisory lock, so that two starting together do not both create the schema:
 * the second waits, then finds nothing left to apply.
 */
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { WaslError } from '../errors.js';
import { POSTGRES_MIGRATIONS_DIR } from '../paths.js';
import { newestMigrationShipped, outdatedRegister } from './migration-journal.js';

/** The advisory lock's key: "wasl" in ASCII, taken by nothing else of ours. */
const MIGRATION_LOCK = 0x7761736c;

export async function migratePostgresRegister(connection: pg.ClientConfig): Promise<void> {
  // No statement timeout here: a migration of a large register, or the wait for another gateway's, may take long.
  const client = new pg.Client({ ...connection, statement_timeout: 0, query_timeout: 0 });
  client.on('error', () => {
    // The connection broke: the query under way rejects, and that is the error reported.
  });
  await client.connect();
  try {
    // The session's lock: released when this connection ends, however it ends.
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    await migrate(drizzle({ client }), { migrationsFolder: POSTGRES_MIGRATIONS_DIR });
  } finally {
    await client.end();
  }
}

/**
 * A register the gateway made, as the command line opens it: never made, never migrated (the
 * gateways own the schema). One without a register, or older than the code, is refused with what
 * to do. `where` names it without its password.
 */
export async function checkPostgresRegisterCurrent(connection: pg.ClientConfig, where: string): Promise<void> {
  const client = new pg.Client(connection);
  client.on('error', () => {
    // The connection broke: the query under way rejects, and that is the error reported.
  });
  await client.connect();
  try {
    // drizzle's node-postgres migrator records what it applied in drizzle.__drizzle_migrations.
    // Asked apart: a query naming a table that does not exist fails as it is planned, whatever CASE guards it.
    const journal = await client.query<{ table: string | null }>("SELECT to_regclass('drizzle.__drizzle_migrations')::text AS table");
    const newest = journal.rows[0]?.table ? (await client.query<{ newest: string | null }>('SELECT max(created_at)::text AS newest FROM drizzle.__drizzle_migrations')).rows[0]?.newest : null;
    if (newest === null || newest === undefined) {
      throw new WaslError('register.missing', `no register at ${where}: no gateway has started on this database yet (database.url, WASL_DATABASE_URL)`);
    }
    if (Number(newest) < newestMigrationShipped(POSTGRES_MIGRATIONS_DIR)) throw outdatedRegister(where);
  } finally {
    await client.end();
  }
}
