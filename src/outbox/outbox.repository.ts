/** Reads and moves deliveries through pending -> sending -> sent | failed. */
import { and, asc, count, desc, eq, gt, inArray, lte, min, notInArray, sql, type SQL } from 'drizzle-orm';
import { preparedQueries, type Db } from '../db/db.js';
import type { DeliveryRow, Tx } from '../letters/letters.repository.js';
import { letters } from '../letters/letters.tables.js';
import { deliveries } from './outbox.tables.js';

export type DeliveryStatus = DeliveryRow['status'];

/** After a crash, what was being sent is sent again: at least once, never dropped. */
export function returnInterruptedToQueue(db: Db, at: Date): number {
  return db.update(deliveries).set({ status: 'pending', nextAttemptAt: at, updatedAt: at }).where(eq(deliveries.status, 'sending')).run().changes;
}

const $ = sql.placeholder;

/** What every delivery takes: claimed, sent, and the look for the next one due. */
const hot = preparedQueries((db) => {
  /** Claims the oldest due deliveries of the channels `among` picks, `limit` at most. */
  const claimDueAmong = (among: SQL | undefined) =>
    db
      .update(deliveries)
      .set({ status: 'sending', attempts: sql`${deliveries.attempts} + 1`, updatedAt: sql`${$('at')}` })
      .where(
        inArray(
          deliveries.id,
          db
            .select({ id: deliveries.id })
            .from(deliveries)
            .where(and(eq(deliveries.status, 'pending'), lte(deliveries.nextAttemptAt, $('at')), among))
            .orderBy(asc(deliveries.nextAttemptAt), asc(deliveries.id))
            .limit($('limit')),
        ),
      )
      .returning()
      .prepare();
  // A worker's pools are fixed while it runs: one statement per list of channels left out, made once.
  const claimDueOutside = new Map<string, ReturnType<typeof claimDueAmong>>();
  return {
    claimDueOn: claimDueAmong(eq(deliveries.channel, $('channel'))),
    claimDueOutside(channels: readonly string[]) {
      const key = JSON.stringify(channels);
      let query = claimDueOutside.get(key);
      if (!query) {
        query = claimDueAmong(channels.length > 0 ? notInArray(deliveries.channel, [...channels]) : undefined);
        claimDueOutside.set(key, query);
      }
      return query;
    },
    nextDueAt: db
      .select({ at: deliveries.nextAttemptAt })
      .from(deliveries)
      .where(and(eq(deliveries.status, 'pending'), gt(deliveries.nextAttemptAt, $('after'))))
      .orderBy(asc(deliveries.nextAttemptAt))
      .limit(1)
      .prepare(),
    markSent: db
      .update(deliveries)
      .set({ status: 'sent', externalId: sql`${$('externalId')}`, updatedAt: sql`${$('at')}`, lastError: null, lastErrorCode: null })
      .where(eq(deliveries.id, $('id')))
      .prepare(),
  };
});

/** Which deliveries a claim takes: those of one channel, or those of every channel but the ones named. */
export type ChannelPool = { channel: string } | { outside: readonly string[] };

/**
 * Claims up to `limit` due deliveries of a pool of channels, oldest first, in one statement: two
 * claims never take the same one.
 */
export function claimDue(tx: Tx, { at, limit, pool }: { at: Date; limit: number; pool: ChannelPool }): DeliveryRow[] {
  const queries = hot(tx);
  const claimed =
    'channel' in pool
      ? queries.claimDueOn.all({ at: at.getTime(), limit, channel: pool.channel })
      : queries.claimDueOutside(pool.outside).all({ at: at.getTime(), limit });
  return claimed.sort((left, right) => left.id - right.id);
}

/** Puts claimed but unsent deliveries back in the queue (the worker stopped while claiming them). */
export function releaseClaims(db: Db, { ids, at }: { ids: number[]; at: Date }): void {
  if (ids.length === 0) return;
  db.update(deliveries).set({ status: 'pending', attempts: sql`${deliveries.attempts} - 1`, updatedAt: at }).where(inArray(deliveries.id, ids)).run();
}

/** When the first pending delivery falls due; with `after`, the first one due later than that. */
export function nextDueAt(db: Db, { after }: { after?: Date } = {}): Date | undefined {
  return hot(db).nextDueAt.get({ after: after?.getTime() ?? Number.MIN_SAFE_INTEGER })?.at;
}

export function markSent(tx: Tx, { id, externalId, at }: { id: number; externalId: string; at: Date }): void {
  hot(tx).markSent.run({ id, externalId, at: at.getTime() });
}

export function markRetry(
  tx: Tx,
  { id, at, nextAttemptAt, errorCode, error }: { id: number; at: Date; nextAttemptAt: Date; errorCode: string; error: string },
): void {
  tx.update(deliveries).set({ status: 'pending', nextAttemptAt, updatedAt: at, lastErrorCode: errorCode, lastError: error }).where(eq(deliveries.id, id)).run();
}

export function markFailed(tx: Tx, { id, at, errorCode, error }: { id: number; at: Date; errorCode: string; error: string }): void {
  tx.update(deliveries).set({ status: 'failed', updatedAt: at, lastErrorCode: errorCode, lastError: error }).where(eq(deliveries.id, id)).run();
}

export function deliveryById(tx: Tx, id: number): DeliveryRow | undefined {
  return tx.select().from(deliveries).where(eq(deliveries.id, id)).get();
}

export function deliveryByExternalId(tx: Tx, { channel, externalId }: { channel: string; externalId: string }): DeliveryRow | undefined {
  return tx
    .select()
    .from(deliveries)
    .where(and(eq(deliveries.channel, channel), eq(deliveries.externalId, externalId)))
    .get();
}

export interface DeliveryListing extends DeliveryRow {
  number: string;
}

export function listDeliveries(db: Db, { statuses, limit }: { statuses?: DeliveryStatus[] | undefined; limit: number }): DeliveryListing[] {
  return db
    .select({ delivery: deliveries, number: letters.number })
    .from(deliveries)
    .innerJoin(letters, eq(letters.id, deliveries.letterId))
    .where(statuses ? inArray(deliveries.status, statuses) : undefined)
    .orderBy(desc(deliveries.id))
    .limit(limit)
    .all()
    .map((row) => ({ ...row.delivery, number: row.number }));
}

/** Puts failed deliveries back in the queue with a fresh run of attempts (the mail office's "retry"). */
/** Deliveries queued and not yet sent, by channel, and when the oldest was queued (for /metrics; the due index holds exactly these). */
export function pendingByChannel(db: Db): { channel: string; pending: number; oldestQueuedAt: Date }[] {
  const rows = db
    .select({ channel: deliveries.channel, pending: count(), oldestQueuedAt: min(deliveries.createdAt) })
    .from(deliveries)
    .where(eq(deliveries.status, 'pending'))
    .groupBy(deliveries.channel)
    .all();
  // A group has a row, so a least creation time: never null.
  return rows.map((row) => ({ ...row, oldestQueuedAt: row.oldestQueuedAt! }));
}

export function requeueFailed(db: Db, { ids, at }: { ids?: number[] | undefined; at: Date }): number {
  const condition = ids ? and(eq(deliveries.status, 'failed'), inArray(deliveries.id, ids)) : eq(deliveries.status, 'failed');
  return db.update(deliveries).set({ status: 'pending', attempts: 0, nextAttemptAt: at, updatedAt: at }).where(condition).run().changes;
}
