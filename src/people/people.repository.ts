/**
 * The office's staff in the register, inside a transaction its caller opened: a person, their
 * identities and their roles are written together or not at all. Engine-neutral: the tables come
 * with the transaction.
 */
import { and, asc, eq, inArray, isNull, sql } from 'drizzle-orm';
import type { RegisterTx } from '../db/register-tx.js';
import { WaslError } from '../errors.js';
import { IDENTITY_CHANNELS, type Grant, type Identity, type IdentityChannel, type Person } from './people.models.js';
import type { Asker } from './permissions.js';

type PersonRow = RegisterTx['tables']['people']['$inferSelect'];

/** The people of these rows with their identities and roles, in the rows' order. */
async function withIdentitiesAndRoles(tx: RegisterTx, rows: PersonRow[]): Promise<Person[]> {
  if (rows.length === 0) return [];
  const { personIdentities, personRoles } = tx.tables;
  const ids = rows.map((row) => row.id);
  const identities = await tx.db
    .select()
    .from(personIdentities)
    .where(inArray(personIdentities.personId, ids))
    .orderBy(asc(personIdentities.channel), asc(personIdentities.address));
  const roles = await tx.db.select().from(personRoles).where(inArray(personRoles.personId, ids)).orderBy(asc(personRoles.id));
  return rows.map(({ id, handle, name, addedAt, removedAt }) => ({
    id,
    handle,
    name,
    addedAt,
    removedAt,
    identities: identities.filter((identity) => identity.personId === id).map(({ channel, address }) => ({ channel, address })),
    grants: roles.filter((role) => role.personId === id).map(({ role, departmentCode }) => ({ role, department: departmentCode })),
  }));
}

/** Email addresses are compared in lower case, as they are stored (people.models.ts identityOf). */
const storedAddress = ({ channel, address }: Identity): string => (channel === 'email' ? address.toLowerCase() : address);

/** The present person (not removed) known by this identity, if any. */
export async function personByIdentity(tx: RegisterTx, identity: Identity): Promise<Person | undefined> {
  const { people, personIdentities } = tx.tables;
  const rows = await tx.db
    .select({ person: people })
    .from(personIdentities)
    .innerJoin(people, eq(people.id, personIdentities.personId))
    .where(and(eq(personIdentities.channel, identity.channel), eq(personIdentities.address, storedAddress(identity)), isNull(personIdentities.removedAt)));
  return (await withIdentitiesAndRoles(tx, rows.map((row) => row.person)))[0];
}

/** Who a channel says acted (its channel and its id of them), as permissions.ts's `can` takes them. */
export async function askerOf(tx: RegisterTx, actor: { channel: string; id: string }): Promise<Asker> {
  const { channel, id: address } = actor;
  const person = (IDENTITY_CHANNELS as readonly string[]).includes(channel) ? await personByIdentity(tx, { channel: channel as IdentityChannel, address }) : undefined;
  return { identity: { channel, address }, person };
}

/** The present person with this handle, if any. */
export async function personByHandle(tx: RegisterTx, handle: string): Promise<Person | undefined> {
  const { people } = tx.tables;
  const rows = await tx.db
    .select()
    .from(people)
    .where(and(eq(people.handle, handle), isNull(people.removedAt)));
  return (await withIdentitiesAndRoles(tx, rows))[0];
}

/** The staff by handle; with `removed`, also those who left, after the present ones. */
export async function listPeople(tx: RegisterTx, { removed = false }: { removed?: boolean } = {}): Promise<Person[]> {
  const { people } = tx.tables;
  const rows = await tx.db
    .select()
    .from(people)
    .where(removed ? undefined : isNull(people.removedAt))
    .orderBy(asc(sql`${people.removedAt} IS NOT NULL`), asc(people.handle), asc(people.id));
  return withIdentitiesAndRoles(tx, rows);
}

/**
 * Adds a person with their identities and roles. Refused, with nothing written, when the handle or
 * an identity belongs to a present person: who pressed a button must never be ambiguous.
 */
export async function addPerson(
  tx: RegisterTx,
  { handle, name, identities, grants, at }: { handle: string; name: string; identities: readonly Identity[]; grants: readonly Grant[]; at: Date },
): Promise<Person> {
  const { people, personIdentities } = tx.tables;
  const [added] = await tx.db.insert(people).values({ handle, name, addedAt: at, removedAt: null }).onConflictDoNothing().returning();
  if (!added) {
    const holder = await personByHandle(tx, handle);
    throw new WaslError('person.handle_taken', `the handle ${handle} is taken by ${holder?.name ?? 'someone'}: choose another`, { details: { handle } });
  }
  const distinct = new Map(identities.map((identity) => [`${identity.channel} ${storedAddress(identity)}`, { channel: identity.channel, address: storedAddress(identity) }]));
  for (const identity of distinct.values()) {
    const [stored] = await tx.db
      .insert(personIdentities)
      .values({ personId: added.id, ...identity, removedAt: null })
      .onConflictDoNothing()
      .returning({ personId: personIdentities.personId });
    if (!stored) {
      const holder = await personByIdentity(tx, identity);
      throw new WaslError('person.identity_taken', `the ${identity.channel} identity ${identity.address} is already ${holder?.name ?? 'someone'}'s (${holder?.handle ?? '?'}): one identity names one person; nothing was added`, {
        details: { ...identity, holder: holder?.handle },
      });
    }
  }
  for (const grant of grants) await grantRole(tx, { personId: added.id, grant });
  return (await withIdentitiesAndRoles(tx, [added]))[0]!;
}

/** Gives a person a role; false when they hold it already (nothing changes). */
export async function grantRole(tx: RegisterTx, { personId, grant }: { personId: number; grant: Grant }): Promise<boolean> {
  const { personRoles } = tx.tables;
  const stored = await tx.db
    .insert(personRoles)
    .values({ personId, role: grant.role, departmentCode: grant.department })
    .onConflictDoNothing()
    .returning({ id: personRoles.id });
  return stored.length === 1;
}

/**
 * Removes a present person from the staff: they and their identities act no more, and their row
 * stays for the history that names them. False when they were removed already.
 */
export async function removePerson(tx: RegisterTx, { personId, at }: { personId: number; at: Date }): Promise<boolean> {
  const { people, personIdentities } = tx.tables;
  const removed = await tx.db
    .update(people)
    .set({ removedAt: at })
    .where(and(eq(people.id, personId), isNull(people.removedAt)))
    .returning({ id: people.id });
  if (removed.length === 0) return false;
  await tx.db
    .update(personIdentities)
    .set({ removedAt: at })
    .where(and(eq(personIdentities.personId, personId), isNull(personIdentities.removedAt)));
  return true;
}
