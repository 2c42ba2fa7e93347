/** Leases on PostgreSQL: the twin of leases.tables.ts. */
import { pgTable } from 'drizzle-orm/pg-core';
import { instant, text } from '../db/columns.pg.js';

export const leases = pgTable('leases', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  expiresAt: instant('expires_at').notNull(),
});
