/**
 * Leases: work that exactly one gateway of a shared register may do at a time (the Slack Socket
 * Mode connection, the Matrix sync). The holder renews its row before it expires; when it dies,
 * the row expires and another gateway takes it.
 */
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

export const leases = sqliteTable('leases', {
  name: text('name').primaryKey(),
  /** The gateway instance holding it (host, process, start). */
  holder: text('holder').notNull(),
  expiresAt: integer('expires_at', { mode: 'timestamp_ms' }).notNull(),
});
