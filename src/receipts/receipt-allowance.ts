/**
 * The per-sender receipt cap: at most `perHour` receipts in a row to one place (a mailbox, or
 * on chat one sender's thread), then one each time an hour's share has passed. A token bucket,
 * so a sender of ten thousand letters costs the same single row as a sender of ten.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { ChannelAddress } from '../channels/port.js';
import { encoded, preparedQueries, type RegisterTx } from '../db/register-tx.js';

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
  /** True, and one receipt spent, if a receipt to `place` may go at `at`; called in the registering transaction. */
  take(tx: RegisterTx, place: ChannelAddress, at: Date): Promise<boolean>;
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

export function createReceiptAllowance({ perHour }: { perHour: number }): ReceiptAllowance {
  return {
    async take(tx, place, at) {
      const { read, write } = queries(tx);
      const targetId = place.channel === 'email' ? mailboxOf(place.id) : place.id;
      const where = { channel: place.channel, targetId, targetThread: place.thread ?? '' };
      const [row] = await read.execute(where);
      const tokens = row ? refill({ tokens: row.tokens, elapsedMs: at.getTime() - row.updatedAt.getTime(), perHour }) : perHour;
      const allowed = tokens >= 1;
      await write.execute({ ...where, tokens: allowed ? tokens - 1 : tokens, updatedAt: at });
      return allowed;
    },
  };
}
