import { defineConfig } from 'drizzle-kit';

/** The SQLite register's migrations; the PostgreSQL register's are made by drizzle.postgres.config.ts. */
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/db/schema.ts',
  out: './drizzle/sqlite',
});
