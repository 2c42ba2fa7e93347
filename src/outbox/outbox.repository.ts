/**
 * Reads and moves deliveries through pending -> sending -> sent | failed. Several gateways may share
 * the register: a delivery being sent is claimed by one gateway process (its holder) under a lease
 * that gateway renews while it sends; a claim whose lease ran out goes back to the queue for any of
 * them, and only the holder marks what became of its send.
 */
import { and, asc, count, desc, eq, gt, inArray, isNull, lt, lte, min, notInArray, or, sql, type SQL } from 'drizzle-orm';
import { encoded, inFewStatements, preparedQueries, skippingLockedRows, type RegisterTables, type RegisterTx } from '../db/register-tx.js';
import type { DeliveryRow } from '../letters/letters.repository.js';

export type DeliveryStatus = DeliveryRow['status'];

/** Who claims deliveries (a gateway process, as no other names itself) and until when, unless renewed. */
export interface DeliveryClaim {
  holder: string;
  leaseUntil: Date;
}

type Deliveries = RegisterTables['deliveries'];

/** The delivery, while `holder` still holds its claim. */
function heldBy(deliveries: Deliveries, { id, holder }: { id: SQL | number; holder: SQL | string }): SQL | undefined {
  return and(eq(deliveries.id, id), eq(deliveries.status, 'sending'), eq(deliveries.claimedBy, holder));
}

/** What a delivery leaving 'sending' writes: claims and leases exist only while it is being sent. */
const unclaimed = { claimedBy: null, leaseUntil: null } as const;

/**
 * Returns to the queue the deliveries whose lease ran out at `at`, whoever held them: their
 * gateway died or lost the register mid-send, and another sends them again (at least once, never
 * dropped; the Message-ID is the delivery's, so a department sees the same message twice at most).
 * A claim with no lease, written by a version before leases, has run out.
 */
export async function requeueExpiredClaims(tx: RegisterTx, at: Date): Promise<number> {
  const { deliveries } = tx.tables;
  const returned = await tx.db
    .update(deliveries)
    .set({ status: 'pending', nextAttemptAt: at, updatedAt: at, ...unclaimed })
    .where(and(eq(deliveries.status, 'sending'), or(isNull(deliveries.leaseUntil), lt(deliveries.leaseUntil, at))))
    .returning({ id: deliveries.id });
  return returned.length;
}

/** Returns to the queue every delivery `holder` claimed and has not marked: its gateway stops, and leaves them to the others now. */
export async function releaseHeldBy(tx: RegisterTx, { holder, at }: { holder: string; at: Date }): Promise<number> {
  const { deliveries } = tx.tables;
  const returned = await tx.db
    .update(deliveries)
    .set({ status: 'pending', nextAttemptAt: at, updatedAt: at, ...unclaimed })
    .where(and(eq(deliveries.status, 'sending'), eq(deliveries.claimedBy, holder)))
    .returning({ id: deliveries.id });
  return returned.length;
}

/** Extends the lease of those of `ids` that `holder` still holds, in one statement; says which those are. */
export async function renewLeases(tx: RegisterTx, { ids, holder, leaseUntil }: { ids: readonly number[] } & DeliveryClaim): Promise<number[]> {
  if (ids.length === 0) return [];
  const { deliveries } = tx.tables;
  const renewed = await tx.db
    .update(deliveries)
    .set({ leaseUntil })
    .where(and(inArray(deliveries.id, [...ids]), eq(deliveries.status, 'sending'), eq(deliveries.claimedBy, holder)))
    .returning({ id: deliveries.id });
  return renewed.map((row) => row.id);
}

const $ = sql.placeholder;

/** What every delivery takes: claimed, sent, and the look for the next one due. */
const hot = preparedQueries((db, { deliveries }, engine) => {
  /** Claims the oldest due deliveries of the channels `among` picks, `limit` at most, for a holder until a time. */
  const claimDueAmong = (among: SQL | undefined) =>
    db
      .update(deliveries)
      .set({
        status: 'sending',
        attempts: sql`${deliveries.attempts} + 1`,
        claimedBy: encoded(deliveries.claimedBy, 'holder'),
        leaseUntil: encoded(deliveries.leaseUntil, 'leaseUntil'),
        updatedAt: encoded(deliveries.updatedAt, 'at'),
      })
      .where(
        inArray(
          deliveries.id,
          skippingLockedRows(
            engine,
            db
              .select({ id: deliveries.id })
              .from(deliveries)
              .where(and(eq(deliveries.status, 'pending'), lte(deliveries.nextAttemptAt, encoded(deliveries.nextAttemptAt, 'at')), among))
              .orderBy(asc(deliveries.nextAttemptAt), asc(deliveries.id))
              .limit($('limit')),
          ),
        ),
      )
      .returning()
      .prepare();
  // A worker's pools are fixed while it runs: one statement per list of channels left out, made once.
  const claimDueOutside = new Map<string, ReturnType<typeof claimDueAmong>>();
  const firstDue = (after: SQL | undefined) =>
    db
      .select({ at: deliveries.nextAttemptAt })
      .from(deliveries)
      .where(and(eq(deliveries.status, 'pending'), after))
      .orderBy(asc(deliveries.nextAttemptAt))
      .limit(1)
      .prepare();
  return {
    claimDueOn: claimDueAmong(eq(deliveries.channel, encoded(deliveries.channel, 'channel'))),
    claimDueOutside(channels: readonly string[]) {
      const key = JSON.stringify(channels);
      let query = claimDueOutside.get(key);
      if (!query) {
        query = claimDueAmong(channels.length > 0 ? notInArray(deliveries.channel, [...channels]) : undefined);
        claimDueOutside.set(key, query);
      }
      return query;
    },
    nextDue: firstDue(undefined),
    nextDueAfter: firstDue(gt(deliveries.nextAttemptAt, encoded(deliveries.nextAttemptAt, 'after'))),
    markSent: db
      .update(deliveries)
      .set({ status: 'sent', externalId: encoded(deliveries.externalId, 'externalId'), updatedAt: encoded(deliveries.updatedAt, 'at'), lastError: null, lastErrorCode: null, ...unclaimed })
      .where(heldBy(deliveries, { id: encoded(deliveries.id, 'id'), holder: encoded(deliveries.claimedBy, 'holder') }))
      .returning({ id: deliveries.id })
      .prepare(),
  };
});

/** Which deliveries a claim takes: those of one channel, or those of every channel but the ones named. */
export type ChannelPool = { channel: string } | { outside: readonly string[] };

/**
 * Claims up to `limit` due deliveries of a pool of channels, oldest first, in one statement, for
 * `holder` until `leaseUntil`: two claims never take the same one, on one gateway or several.
 */
export async function claimDue(
  tx: RegisterTx,
  { at, limit, pool, holder, leaseUntil }: { at: Date; limit: number; pool: ChannelPool } & DeliveryClaim,
): Promise<DeliveryRow[]> {
  const queries = hot(tx);
  const claimed =
    'channel' in pool
      ? await queries.claimDueOn.execute({ at, limit, holder, leaseUntil, channel: pool.channel })
      : await queries.claimDueOutside(pool.outside).execute({ at, limit, holder, leaseUntil });
  return claimed.sort((left, right) => left.id - right.id);
}

/** Puts deliveries `holder` claimed but did not send back in the queue (its worker stopped while claiming them). */
export async function releaseClaims(tx: RegisterTx, { ids, holder, at }: { ids: number[]; holder: string; at: Date }): Promise<void> {
  if (ids.length === 0) return;
  const { deliveries } = tx.tables;
  await tx.db
    .update(deliveries)
    .set({ status: 'pending', attempts: sql`${deliveries.attempts} - 1`, updatedAt: at, ...unclaimed })
    .where(and(inArray(deliveries.id, ids), eq(deliveries.status, 'sending'), eq(deliveries.claimedBy, holder)));
}

/** When the first pending delivery falls due; with `after`, the first one due later than that. */
export async function nextDueAt(tx: RegisterTx, { after }: { after?: Date } = {}): Promise<Date | undefined> {
  const queries = hot(tx);
  const [first] = after ? await queries.nextDueAfter.execute({ after }) : await queries.nextDue.execute();
  return first?.at;
}

/**
 * The marks of what became of a send apply only while `holder` still holds the delivery: a gateway
 * whose lease ran out (another took the delivery over) never overwrites what the other records.
 * Each says whether it applied.
 */
export type SentMark = { id: number; externalId: string; at: Date };

/** Marks deliveries sent, those `holder` still holds; returns the ids it marked. */
export async function markSent(tx: RegisterTx, { holder, sends }: { holder: string; sends: readonly SentMark[] }): Promise<number[]> {
  const { deliveries } = tx.tables;
  const marked = await inFewStatements(tx, sends, {
    one: (send) => hot(tx).markSent.execute({ ...send, holder }),
    // Each row its own Message-ID, in one statement: CASE reads alike on both engines. The time is
    // the last send's (PostgreSQL would need a cast for times in a CASE, SQLite none).
    many: (chunk) =>
      tx.db
        .update(deliveries)
        .set({
          status: 'sent',
          externalId: sql`case ${deliveries.id} ${sql.join(chunk.map((send) => sql`when ${send.id} then ${send.externalId}`), sql` `)} end`,
          updatedAt: new Date(Math.max(...chunk.map((send) => send.at.getTime()))),
          lastError: null,
          lastErrorCode: null,
          ...unclaimed,
        })
        .where(and(inArray(deliveries.id, chunk.map((send) => send.id)), eq(deliveries.status, 'sending'), eq(deliveries.claimedBy, holder)))
        .returning({ id: deliveries.id }),
  });
  return marked.map((row) => row.id);
}

export async function markRetry(
  tx: RegisterTx,
  { id, holder, at, nextAttemptAt, errorCode, error }: { id: number; holder: string; at: Date; nextAttemptAt: Date; errorCode: string; error: string },
): Promise<boolean> {
  const { deliveries } = tx.tables;
  const marked = await tx.db
    .update(deliveries)
    .set({ status: 'pending', nextAttemptAt, updatedAt: at, lastErrorCode: errorCode, lastError: error, ...unclaimed })
    .where(heldBy(deliveries, { id, holder }))
    .returning({ id: deliveries.id });
  return marked.length === 1;
}

/** Marks a delivery failed: one `holder` still holds, or (a bounce, without `holder`) one sent already. */
export async function markFailed(
  tx: RegisterTx,
  { id, holder, at, errorCode, error }: { id: number; holder?: string | undefined; at: Date; errorCode: string; error: string },
): Promise<boolean> {
  const { deliveries } = tx.tables;
  const marked = await tx.db
    .update(deliveries)
    .set({ status: 'failed', updatedAt: at, lastErrorCode: errorCode, lastError: error, ...unclaimed })
    .where(holder === undefined ? and(eq(deliveries.id, id), eq(deliveries.status, 'sent')) : heldBy(deliveries, { id, holder }))
    .returning({ id: deliveries.id });
  return marked.length === 1;
}

export async function deliveryById(tx: RegisterTx, id: number): Promise<DeliveryRow | undefined> {
  const { deliveries } = tx.tables;
  return (await tx.db.select().from(deliveries).where(eq(deliveries.id, id)).limit(1))[0];
}

export async function deliveryByExternalId(tx: RegisterTx, { channel, externalId }: { channel: string; externalId: string }): Promise<DeliveryRow | undefined> {
  const { deliveries } = tx.tables;
  const found = await tx.db
    .select()
    .from(deliveries)
    .where(and(eq(deliveries.channel, channel), eq(deliveries.externalId, externalId)))
    .limit(1);
  return found[0];
}

export interface DeliveryListing extends DeliveryRow {
  number: string;
}

export async function listDeliveries(tx: RegisterTx, { statuses, limit }: { statuses?: DeliveryStatus[] | undefined; limit: number }): Promise<DeliveryListing[]> {
  const { deliveries, letters } = tx.tables;
  const rows = await tx.db
    .select({ delivery: deliveries, number: letters.number })
    .from(deliveries)
    .innerJoin(letters, eq(letters.id, deliveries.letterId))
    .where(statuses ? inArray(deliveries.status, statuses) : undefined)
    .orderBy(desc(deliveries.id))
    .limit(limit);
  return rows.map((row) => ({ ...row.delivery, number: row.number }));
}

/** Deliveries queued and not yet sent, by channel, and when the oldest was queued (for /metrics; the due index holds exactly these). */
export async function pendingByChannel(tx: RegisterTx): Promise<{ channel: string; pending: number; oldestQueuedAt: Date }[]> {
  const { deliveries } = tx.tables;
  const rows = await tx.db
    .select({ channel: deliveries.channel, pending: count(), oldestQueuedAt: min(deliveries.createdAt) })
    .from(deliveries)
    .where(eq(deliveries.status, 'pending'))
    .groupBy(deliveries.channel);
  // A group has a row, so a least creation time: never null.
  return rows.map((row) => ({ ...row, oldestQueuedAt: row.oldestQueuedAt! }));
}

/** Puts failed deliveries back in the queue with a fresh run of attempts (the mail office's "retry"). */
export async function requeueFailed(tx: RegisterTx, { ids, at }: { ids?: number[] | undefined; at: Date }): Promise<number> {
  const { deliveries } = tx.tables;
  const condition = ids ? and(eq(deliveries.status, 'failed'), inArray(deliveries.id, ids)) : eq(deliveries.status, 'failed');
  const requeued = await tx.db
    .update(deliveries)
    .set({ status: 'pending', attempts: 0, nextAttemptAt: at, updatedAt: at, ...unclaimed })
    .where(condition)
    .returning({ id: deliveries.id });
  return requeued.length;
}
