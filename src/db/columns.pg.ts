/**
 * Column types of the PostgreSQL register, chosen so drizzle infers the same row types as the
 * SQLite tables: the core sees one shape of row whatever the engine.
 */
import { bigint, customType, doublePrecision, timestamp } from 'drizzle-orm/pg-core';

/**
 * PostgreSQL text cannot hold U+0000, which a sender may send. It is stored as U+E000 "0", and a
 * U+E000 of its own (private use, rare) as U+E000 U+E000, so every text reads back exactly.
 */
const ESCAPE = '\uE000';
export function escapeNul(value: string): string {
  return value.replaceAll(ESCAPE, ESCAPE + ESCAPE).replaceAll('\u0000', ESCAPE + '0');
}
export function unescapeNul(value: string): string {
  return value.replace(/\uE000(\uE000|0)/g, (_, escaped: string) => (escaped === ESCAPE ? ESCAPE : '\u0000'));
}

/** Text that round-trips any string; the type parameter narrows it like sqlite-core's `enum` option. */
export function text<Value extends string = string>(name: string) {
  return customType<{ data: Value; driverData: string }>({
    dataType: () => 'text',
    // drizzle hands a prepared statement's null through the column too (a nullable column, bound as a placeholder).
    toDriver: (value) => (value === null ? value : escapeNul(value)),
    fromDriver: (value) => (value === null ? value : (unescapeNul(value) as Value)),
  })(name);
}

/** Bytes, read as a Buffer as the SQLite blob columns are. */
export const bytea = customType<{ data: Buffer; driverData: Buffer }>({
  dataType: () => 'bytea',
});

/** Instants to the millisecond, as SQLite's timestamp_ms. */
export function instant(name: string) {
  return timestamp(name, { precision: 3, withTimezone: true, mode: 'date' });
}

/**
 * An instant to the millisecond that may be missing (the twin of columns.sqlite.ts's): drizzle's
 * timestamp maps a prepared statement's null as a date, and fails on it. The driver hands
 * timestamps over as text (drizzle's node-postgres session reads them so), as for `instant`.
 */
export function optionalInstant(name: string) {
  return customType<{ data: Date; driverData: string }>({
    dataType: () => 'timestamp (3) with time zone',
    toDriver: (value) => (value === null ? value : value.toISOString()),
    fromDriver: (value) => new Date(value),
  })(name);
}

/** Row ids: 64-bit, numbered by the database unless given, read as JS numbers. */
export function id(name: string) {
  return bigint(name, { mode: 'number' }).primaryKey().generatedByDefaultAsIdentity();
}

/** A reference to a row id. */
export function idReference(name: string) {
  return bigint(name, { mode: 'number' });
}

export const real = doublePrecision;
