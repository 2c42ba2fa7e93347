/**
 * Brings a PostgreSQL register to the code's schema: the committed migrations of
 * drizzle/postgres/, applied by drizzle's node-postgres migrator. Every gateway does it as it
 * starts, under an advisory lock, so that two starting together do not both create the schema:
 * the second waits, then finds nothing left to apply.
 */
import { drizzle } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import { POSTGRES_MIGRATIONS_DIR } from '../paths.js';

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
