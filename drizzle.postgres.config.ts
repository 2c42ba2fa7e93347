import { defineConfig } from 'drizzle-kit';

/** The PostgreSQL register's migrations, from the pg-core twins of the SQLite tables. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.pg.ts',
  out: './drizzle/postgres',
});
