/**
 * Rate buckets in the register, each taken in one statement: the row's lock makes two gateways
 * taking the last token at once take it in turn, and the second finds it gone. A bucket is the
 * instant it is full again (limits.tables.ts); with `limit` tokens a `windowMs`, each token is
 * one share of the window, `windowMs / limit`.
 */
import { and, desc, eq, lte, or, sql } from 'drizzle-orm';
import type { TokenTaken } from '../channels/port.js';
import type { RegisterTx } from '../db/register-tx.js';

export interface Rate {
  limit: number;
  windowMs: number;
}

/**
 * Instants are milliseconds since the epoch in a double, exact to about a quarter of a microsecond
 * at today's values: a few roundings of the arithmetic below must not cost a token at the edge.
 */
const ROUNDING_MS = 0.01;

/** A number as SQL computes with it: bound as a double on both engines (PostgreSQL cannot infer a parameter's type from `+`). */
const double = (value: number) => sql`cast(${value} as double precision)`;

/**
 * Takes one token of `kind` for `key` at `at` (ms): allowed while the bucket would be full again
 * within one window once the token is taken. A refused take changes nothing.
 */
export async function takeToken(tx: RegisterTx, { kind, key, rate, at }: { kind: string; key: string; rate: Rate; at: number }): Promise<TokenTaken> {
  const { rateBuckets } = tx.tables;
  const share = rate.windowMs / rate.limit;
  // A bucket full before now counts from now: the burst never grows past `limit`.
  const fullAfterTake = sql`(case when ${rateBuckets.fullAt} > ${double(at)} then ${rateBuckets.fullAt} else ${double(at)} end) + ${double(share)}`;
  const taken = await tx.db
    .insert(rateBuckets)
    .values({ kind, key, fullAt: at + share })
    .onConflictDoUpdate({
      target: [rateBuckets.kind, rateBuckets.key],
      set: { fullAt: fullAfterTake },
      setWhere: sql`${fullAfterTake} <= ${double(at + rate.windowMs + ROUNDING_MS)}`,
    })
    .returning({ fullAt: rateBuckets.fullAt });
  if (taken.length === 1) return { allowed: true, waitMs: 0 };
  // Refused: the row is locked by the statement above (PostgreSQL locks it even when it is not updated), so this reads what it saw.
  const [bucket] = await tx.db
    .select({ fullAt: rateBuckets.fullAt })
    .from(rateBuckets)
    .where(and(eq(rateBuckets.kind, kind), eq(rateBuckets.key, key)));
  const fullAt = bucket?.fullAt ?? at;
  return { allowed: false, waitMs: Math.max(1, Math.ceil(Math.max(fullAt, at) + share - rate.windowMs - at)) };
}

/**
 * Forgets the buckets of `kind` that are full again at `at` (the same as no row), and past `keep`
 * rows those closest to full (forgetting only ever lets a take through): the table holds at most
 * `keep` rows of a kind after each prune, whatever the number of keys ever seen.
 */
export async function pruneBuckets(tx: RegisterTx, { kind, at, keep }: { kind: string; at: number; keep: number }): Promise<number> {
  const { rateBuckets } = tx.tables;
  const lastKept = tx.db
    .select({ fullAt: rateBuckets.fullAt })
    .from(rateBuckets)
    .where(eq(rateBuckets.kind, kind))
    .orderBy(desc(rateBuckets.fullAt))
    .limit(1)
    .offset(keep);
  const pruned = await tx.db
    .delete(rateBuckets)
    .where(and(eq(rateBuckets.kind, kind), or(lte(rateBuckets.fullAt, at), lte(rateBuckets.fullAt, lastKept))))
    .returning({ key: rateBuckets.key });
  return pruned.length;
}
