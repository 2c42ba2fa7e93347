/** Column types of the SQLite register that drizzle's own do not cover. */
import { customType } from 'drizzle-orm/sqlite-core';

/**
 * An instant to the millisecond that may be missing, stored as timestamp_ms is (an integer).
 * drizzle's timestamp_ms maps a prepared statement's null as a date, and fails on it.
 */
export function optionalInstant(name: string) {
  return customType<{ data: Date; driverData: number }>({
    dataType: () => 'integer',
    toDriver: (value) => (value === null ? value : value.getTime()),
    fromDriver: (value) => new Date(value),
  })(name);
}
