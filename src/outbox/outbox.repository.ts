/** Reads and moves deliveries through pending -> sending -> sent | failed. */
import { and, asc, count, desc, eq, gt, inArray, lte, min, notInArray, sql, type SQL } from 'drizzle-orm';
import { encoded, preparedQueries, type RegisterTx } from '../db/register-tx.js';
import type { DeliveryRow } from '../letters/letters.repository.js';

export type DeliveryStatus = DeliveryRow['status'];

/** After a crash, what was being sent is sent again: at least once, never dropped. */
export async function returnInterruptedToQueue(tx: RegisterTx, at: Date): Promise<number> {
  const { deliveries } = tx.tables;
  const returned = await tx.db
    .update(deliveries)
    .set({ status: 'pending', nextAttemptAt: at, updatedAt: at })
    .where(eq(deliveries.status, 'sending'))
    .returning({ id: deliveries.id });
  return returned.length;
}

const $ = sql.placeholder;

/** What every delivery takes: claimed, sent, and the look for the next one due. */
const hot = preparedQueries((db, { deliveries }) => {
  /** Claims the oldest due deliveries of the channels `among` picks, `limit` at most. */
  const claimDueAmong = (among: SQL | undefined) =>
    db
      .update(deliveries)
      .set({ status: 'sending', attempts: sql`${deliveries.attempts} + 1`, updatedAt: encoded(deliveries.updatedAt, 'at') })
      .where(
        inArray(
          deliveries.id,
          db
            .select({ id: deliveries.id })
            .from(deliveries)
            .where(and(eq(deliveries.status, 'pending'), lte(deliveries.nextAttemptAt, encoded(deliveries.nextAttemptAt, 'at')), among))
            .orderBy(asc(deliveries.nextAttemptAt), asc(deliveries.id))
            .limit($('limit')),
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
      .set({ status: 'sent', externalId: encoded(deliveries.externalId, 'externalId'), updatedAt: encoded(deliveries.updatedAt, 'at'), lastError: null, lastErrorCode: null })
      .where(eq(deliveries.id, encoded(deliveries.id, 'id')))
      .prepare(),
  };
});

/** Which deliveries a claim takes: those of one channel, or those of every channel but the ones named. */
export type ChannelPool = { channel: string } | { outside: readonly string[] };

/**
 * Claims up to `limit` due deliveries of a pool of channels, oldest first, in one statement: two
 * claims never take the same one.
 */
export async function claimDue(tx: RegisterTx, { at, limit, pool }: { at: Date; limit: number; pool: ChannelPool }): Promise<DeliveryRow[]> {
  const queries = hot(tx);
  const claimed =
    'channel' in pool
      ? await queries.claimDueOn.execute({ at, limit, channel: pool.channel })
      : await queries.claimDueOutside(pool.outside).execute({ at, limit });
  return claimed.sort((left, right) => left.id - right.id);
}

/** Puts claimed but unsent deliveries back in the queue (the worker stopped while claiming them). */
export async function releaseClaims(tx: RegisterTx, { ids, at }: { ids: number[]; at: Date }): Promise<void> {
  if (ids.length === 0) return;
  const { deliveries } = tx.tables;
  await tx.db.update(deliveries).set({ status: 'pending', attempts: sql`${deliveries.attempts} - 1`, updatedAt: at }).where(inArray(deliveries.id, ids));
}

/** When the first pending delivery falls due; with `after`, the first one due later than that. */
export async function nextDueAt(tx: RegisterTx, { after }: { after?: Date } = {}): Promise<Date | undefined> {
  const queries = hot(tx);
  const [first] = after ? await queries.nextDueAfter.execute({ after }) : await queries.nextDue.execute();
  return first?.at;
}

export async function markSent(tx: RegisterTx, { id, externalId, at }: { id: number; externalId: string; at: Date }): Promise<void> {
  await hot(tx).markSent.execute({ id, externalId, at });
}

export async function markRetry(
  tx: RegisterTx,
  { id, at, nextAttemptAt, errorCode, error }: { id: number; at: Date; nextAttemptAt: Date; errorCode: string; error: string },
): Promise<void> {
  const { deliveries } = tx.tables;
  await tx.db.update(deliveries).set({ status: 'pending', nextAttemptAt, updatedAt: at, lastErrorCode: errorCode, lastError: error }).where(eq(deliveries.id, id));
}

export async function markFailed(tx: RegisterTx, { id, at, errorCode, error }: { id: number; at: Date; errorCode: string; error: string }): Promise<void> {
  const { deliveries } = tx.tables;
  await tx.db.update(deliveries).set({ status: 'failed', updatedAt: at, lastErrorCode: errorCode, lastError: error }).where(eq(deliveries.id, id));
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
    .set({ status: 'pending', attempts: 0, nextAttemptAt: at, updatedAt: at })
    .where(condition)
    .returning({ id: deliveries.id });
  return requeued.length;
}
