/** Takes, renews and gives back leases, each in one statement: two gateways never both hold one. */
import { and, eq, lt, or } from 'drizzle-orm';
import type { RegisterTx } from '../db/register-tx.js';

/**
 * Takes the lease, or renews it for its holder: true when `holder` holds it until `until`. A lease
 * held by another is taken only once it has expired at `at`.
 */
export async function claimLease(tx: RegisterTx, { name, holder, at, until }: { name: string; holder: string; at: Date; until: Date }): Promise<boolean> {
  const { leases } = tx.tables;
  const held = await tx.db
    .insert(leases)
    .values({ name, holder, expiresAt: until })
    .onConflictDoUpdate({
      target: leases.name,
      set: { holder, expiresAt: until },
      setWhere: or(eq(leases.holder, holder), lt(leases.expiresAt, at)),
    })
    .returning({ holder: leases.holder });
  return held.length === 1;
}

/** Gives the lease back at once (a gateway stopping), so another need not wait for it to expire. */
export async function releaseLease(tx: RegisterTx, { name, holder }: { name: string; holder: string }): Promise<void> {
  const { leases } = tx.tables;
  await tx.db.delete(leases).where(and(eq(leases.name, name), eq(leases.holder, holder)));
}

/**
 * Forgets every lease: only for a gateway that knows it is the register's one gateway (SQLite, its
 * data directory locked), to which any lease is a killed predecessor's, holding the work back until
 * it expired.
 */
export async function forgetLeases(tx: RegisterTx): Promise<void> {
  await tx.db.delete(tx.tables.leases);
}
