/** The office's staff on PostgreSQL: the twin of people.tables.ts. */
import { sql } from 'drizzle-orm';
import { index, pgTable, primaryKey, uniqueIndex } from 'drizzle-orm/pg-core';
import { id, idReference, instant, optionalInstant, text } from '../db/columns.pg.js';
import type { IdentityChannel, Role } from './people.models.js';

export const people = pgTable(
  'people',
  {
    id: id('id'),
    handle: text('handle').notNull(),
    name: text('name').notNull(),
    addedAt: instant('added_at').notNull(),
    removedAt: optionalInstant('removed_at'),
  },
  (table) => [uniqueIndex('people_handle_present_unique').on(table.handle).where(sql`${table.removedAt} IS NULL`)],
);

export const personIdentities = pgTable(
  'person_identities',
  {
    personId: idReference('person_id')
      .notNull()
      .references(() => people.id),
    channel: text<IdentityChannel>('channel').notNull(),
    address: text('address').notNull(),
    removedAt: optionalInstant('removed_at'),
  },
  (table) => [
    primaryKey({ columns: [table.personId, table.channel, table.address] }),
    uniqueIndex('person_identities_present_unique').on(table.channel, table.address).where(sql`${table.removedAt} IS NULL`),
  ],
);

export const personRoles = pgTable(
  'person_roles',
  {
    id: id('id'),
    personId: idReference('person_id')
      .notNull()
      .references(() => people.id),
    role: text<Role>('role').notNull(),
    departmentCode: text('department_code'),
  },
  (table) => [
    index('person_roles_person_index').on(table.personId),
    uniqueIndex('person_roles_office_unique').on(table.personId, table.role).where(sql`${table.departmentCode} IS NULL`),
    uniqueIndex('person_roles_department_unique').on(table.personId, table.role, table.departmentCode).where(sql`${table.departmentCode} IS NOT NULL`),
  ],
);
