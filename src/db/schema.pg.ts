/** Every PostgreSQL table, for drizzle's typed queries and drizzle-kit (the twin of schema.ts). */
export * from '../letters/letters.tables.pg.js';
export * from '../outbox/outbox.tables.pg.js';
export * from '../mailbox/mailbox.tables.pg.js';
export * from '../receipts/receipts.tables.pg.js';
export * from '../leases/leases.tables.pg.js';
export * from '../limits/limits.tables.pg.js';
export * from '../people/people.tables.pg.js';
