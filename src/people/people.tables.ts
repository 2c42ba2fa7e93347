/**
 * The office's staff: people with roles (a mail-office clerk, a department's member or head, an
 * administrator) and their identities on the channels, so the gateway knows who pressed a button
 * or replied. A person is removed by marking the row, never by deleting it: the letters' history
 * keeps naming them, and they no longer act.
 */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { optionalInstant } from '../db/columns.sqlite.js';
import { IDENTITY_CHANNELS, ROLES } from './people.models.js';

export const people = sqliteTable(
  'people',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    /** The short name the command line knows them by (`--as nadia`). */
    handle: text('handle').notNull(),
    /** Their full name, as messages and the history show it. */
    name: text('name').notNull(),
    addedAt: integer('added_at', { mode: 'timestamp_ms' }).notNull(),
    removedAt: optionalInstant('removed_at'),
  },
  // A removed person's handle may be given to someone new; the removed row keeps its own id.
  (table) => [uniqueIndex('people_handle_present_unique').on(table.handle).where(sql`${table.removedAt} IS NULL`)],
);

/** Who a person is on a channel: an email address (lower case), a Slack user id, a Matrix user id. */
export const personIdentities = sqliteTable(
  'person_identities',
  {
    personId: integer('person_id')
      .notNull()
      .references(() => people.id),
    channel: text('channel', { enum: IDENTITY_CHANNELS }).notNull(),
    address: text('address').notNull(),
    /** Set when its person is removed: the identity then names no one who acts, and may be given to someone new. */
    removedAt: optionalInstant('removed_at'),
  },
  (table) => [
    primaryKey({ columns: [table.personId, table.channel, table.address] }),
    // One present person per identity: who pressed a button is never ambiguous.
    uniqueIndex('person_identities_present_unique').on(table.channel, table.address).where(sql`${table.removedAt} IS NULL`),
  ],
);

/** What a person may do: an office-wide role (clerk, admin; no department) or a department's (member, head). */
export const personRoles = sqliteTable(
  'person_roles',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    personId: integer('person_id')
      .notNull()
      .references(() => people.id),
    role: text('role', { enum: ROLES }).notNull(),
    departmentCode: text('department_code'),
  },
  (table) => [
    index('person_roles_person_index').on(table.personId),
    // A role held twice would be listed twice; null departments are distinct to SQL, hence two indexes.
    uniqueIndex('person_roles_office_unique').on(table.personId, table.role).where(sql`${table.departmentCode} IS NULL`),
    uniqueIndex('person_roles_department_unique').on(table.personId, table.role, table.departmentCode).where(sql`${table.departmentCode} IS NOT NULL`),
  ],
);
