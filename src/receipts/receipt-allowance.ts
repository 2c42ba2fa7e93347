/**
 * The per-sender receipt cap: at most `perHour` receipts in a row to one place (a mailbox, or
 * on chat one sender's thread), then one each time an hour's share has passed. A token bucket,
 * so a sender of ten thousand letters costs the same single row as a sender of ten.
 */
import { and, eq, or, sql } from 'drizzle-orm';
import type { ChannelAddress } from '../channels/port.js';
import { encoded, inFewStatements, writeInFewStatements, preparedQueries, type RegisterTx } from '../db/register-tx.js';

const HOUR_MS = 3_600_000;

/** Tokens left after `elapsedMs` of refilling at `perHour` an hour, from `tokens`, never above the cap. */
function refill({ tokens, elapsedMs, perHour }: { tokens: number; elapsedMs: number; perHour: number }): number {
  return Math.min(perHour, tokens + (Math.max(0, elapsedMs) * perHour) / HOUR_MS);
}

/**
 * The mailbox an email address reaches, as the cap counts it: `Victim+1@X` and `victim+2@x` are
 * one person (RFC 5233 subaddresses), so a forger cannot multiply the receipts sent to someone by
 * varying the tag. Only `+` is a separator here: some providers use `-`, but `jean-pierre@` is a
 * person of its own, and we don't guess.
 */
function mailboxOf(address: string): string {
  const lowered = address.toLowerCase();
  const at = lowered.lastIndexOf('@');
  const plus = lowered.indexOf('+');
  return plus > 0 && plus < at ? `${lowered.slice(0, plus)}${lowered.slice(at)}` : lowered;
}

export interface ReceiptAllowance {
  /**
   * For each receipt asked for, in order: true, and one receipt spent, if a receipt to `place` may
   * go at `at`. Called in the registering transaction, with the receipts of the letters it registers.
   */
  take(tx: RegisterTx, requests: readonly { place: ChannelAddress; at: Date }[]): Promise<boolean[]>;
}

const $ = sql.placeholder;

/** Where a place's row is read and written, on every letter that asks for a receipt. */
const queries = preparedQueries((db, { receiptAllowances }) => ({
  read: db
    .select({ tokens: receiptAllowances.tokens, updatedAt: receiptAllowances.updatedAt })
    .from(receiptAllowances)
    .where(
      and(
        eq(receiptAllowances.channel, encoded(receiptAllowances.channel, 'channel')),
        eq(receiptAllowances.targetId, encoded(receiptAllowances.targetId, 'targetId')),
        eq(receiptAllowances.targetThread, encoded(receiptAllowances.targetThread, 'targetThread')),
      ),
    )
    .prepare(),
  write: db
    .insert(receiptAllowances)
    .values({ channel: $('channel'), targetId: $('targetId'), targetThread: $('targetThread'), tokens: $('tokens'), updatedAt: $('updatedAt') })
    .onConflictDoUpdate({
      target: [receiptAllowances.channel, receiptAllowances.targetId, receiptAllowances.targetThread],
      set: { tokens: sql`excluded.tokens`, updatedAt: sql`excluded.updated_at` },
    })
    .prepare(),
}));

type Bucket = { channel: string; targetId: string; targetThread: string; tokens: number; updatedAt: Date };

export function createReceiptAllowance({ perHour }: { perHour: number }): ReceiptAllowance {
  return {
    async take(tx, requests) {
      const { read, write } = queries(tx);
      const { receiptAllowances } = tx.tables;
      const places = requests.map(({ place }) => ({ channel: place.channel, targetId: place.channel === 'email' ? mailboxOf(place.id) : place.id, targetThread: place.thread ?? '' }));
      const keyOf = (place: Omit<Bucket, 'tokens' | 'updatedAt'>) => JSON.stringify([place.channel, place.targetId, place.targetThread]);
      const distinct = [...new Map(places.map((place) => [keyOf(place), place])).values()];
      const stored = await inFewStatements(tx, distinct, {
        one: async (place) => (await read.execute(place)).map((row) => ({ ...place, ...row })),
        many: (chunk) =>
          tx.db
            .select()
            .from(receiptAllowances)
            .where(
              or(
                ...chunk.map((place) =>
                  and(eq(receiptAllowances.channel, place.channel), eq(receiptAllowances.targetId, place.targetId), eq(receiptAllowances.targetThread, place.targetThread)),
                ),
              ),
            ),
      });
      // Spent in order, in memory: two receipts to one place in the same transaction see each other.
      const buckets = new Map<string, Bucket>(stored.map((row) => [keyOf(row), row]));
      const allowed = requests.map(({ at }, index) => {
        const place = places[index]!;
        const bucket = buckets.get(keyOf(place));
        const tokens = bucket ? refill({ tokens: bucket.tokens, elapsedMs: at.getTime() - bucket.updatedAt.getTime(), perHour }) : perHour;
        const spent = tokens >= 1;
        buckets.set(keyOf(place), { ...place, tokens: spent ? tokens - 1 : tokens, updatedAt: at });
        return spent;
      });
      const changed = distinct.map((place) => buckets.get(keyOf(place))!);
      await writeInFewStatements(tx, changed, {
        one: (bucket) => write.execute(bucket),
        many: (chunk) =>
          tx.db
            .insert(receiptAllowances)
            .values(chunk)
            .onConflictDoUpdate({
              target: [receiptAllowances.channel, receiptAllowances.targetId, receiptAllowances.targetThread],
              set: { tokens: sql`excluded.tokens`, updatedAt: sql`excluded.updated_at` },
            }),
      });
      return allowed;
    },
  };
}
