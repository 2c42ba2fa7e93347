/**
 * The adapters' rate limits (port.ts, RateLimits), kept where the register's engine says: in this
 * process's memory on SQLite, whose register has one gateway (no write per SMTP connection), and
 * in the register on PostgreSQL, whose gateways must hold each limit together.
 */
import type { RateBuckets, RateLimits } from '../channels/port.js';
import type { RegisterTx } from '../db/register-tx.js';
import type { UnitOfWork } from '../db/unit-of-work.js';
import { pruneBuckets, takeToken } from './limits.repository.js';
import { createTokenBuckets } from './memory-buckets.js';

/** How often a gateway prunes the register's buckets of one kind: the table holds what a minute adds beyond `trackedKeys` at most. */
const PRUNE_EVERY_MS = 60_000;

/** The limits of one channel, bound to its name: its kinds are its own. */
export function createRateLimits({ database, now, channel }: { database: UnitOfWork<RegisterTx>; now: () => Date; channel: string }): RateLimits {
  const clock = () => now().getTime();
  return database.engine === 'postgres' ? registerRateLimits({ database, now: clock, channel }) : memoryRateLimits({ now: clock });
}

export function memoryRateLimits({ now }: { now: () => number }): RateLimits {
  return {
    buckets({ limit, windowMs, trackedKeys }) {
      const buckets = createTokenBuckets({ limit, windowMs, maxKeys: trackedKeys, now });
      return {
        async take(key) {
          return buckets.take(key) ? { allowed: true, waitMs: 0 } : { allowed: false, waitMs: buckets.waitMs(key) };
        },
      };
    },
  };
}

/** Rejects once `ms` have passed without an answer: a register that hangs must not hold the client who asked. */
function answerWithin<T>(ms: number, answer: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the register did not answer the rate limit within ${ms} ms`)), ms);
  });
  return Promise.race([answer, late]).finally(() => clearTimeout(timer));
}

/**
 * Buckets in the register, each take one statement of its own (UnitOfWork.writeAlone). A take
 * rejects when the register does not answer within `answerWithinMs`; the statement may still
 * take its token later, which only makes the limit stricter.
 */
export function registerRateLimits({
  database,
  now,
  channel,
  answerWithinMs = 5000,
}: {
  database: UnitOfWork<RegisterTx>;
  now: () => number;
  channel: string;
  answerWithinMs?: number;
}): RateLimits {
  return {
    buckets({ kind: name, limit, windowMs, trackedKeys }): RateBuckets {
      const kind = `${channel}:${name}`;
      const rate = { limit, windowMs };
      let prunedAt = -Infinity;
      return {
        async take(key) {
          const at = now();
          const taken = await answerWithin(answerWithinMs, database.writeAlone((tx) => takeToken(tx, { kind, key, rate, at })));
          if (at - prunedAt >= PRUNE_EVERY_MS) {
            prunedAt = at;
            // A prune that fails (the register busy or gone) is only done at the next one; the take stands.
            await answerWithin(answerWithinMs, database.writeAlone((tx) => pruneBuckets(tx, { kind, at, keep: trackedKeys }))).catch(() => undefined);
          }
          return taken;
        },
      };
    },
  };
}
