/** Every table, for drizzle's typed queries and for drizzle-kit's migration generator. */
export * from '../letters/letters.tables.js';
export * from '../outbox/outbox.tables.js';
export * from '../mailbox/mailbox.tables.js';
export * from '../receipts/receipts.tables.js';
export * from '../leases/leases.tables.js';
export * from '../limits/limits.tables.js';
export * from '../people/people.tables.js';
