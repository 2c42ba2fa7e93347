/**
 * Token buckets in this process's memory (a burst of `limit`, refilled at `limit` per window):
 * the rate limits of a gateway that is alone on its register (SQLite), with no write per take.
 * Memory stays bounded: a bucket that has refilled is the same as no bucket and is forgotten,
 * and past `maxKeys` the least recently seen keys go first (forgetting only ever lets mail in).
 */

interface Bucket {
  tokens: number;
  at: number;
}

export interface TokenBuckets {
  /** Takes one token for the key: false when the key has used up its allowance. */
  take(key: string): boolean;
  /** Milliseconds until the key has a token again (0 when it has one). */
  waitMs(key: string): number;
  readonly size: number;
}

export function createTokenBuckets({ limit, windowMs, maxKeys, now }: { limit: number; windowMs: number; maxKeys: number; now: () => number }): TokenBuckets {
  const buckets = new Map<string, Bucket>();
  const perMs = limit / windowMs;

  function refilled(bucket: Bucket, at: number): number {
    return Math.min(limit, bucket.tokens + (at - bucket.at) * perMs);
  }

  /** Drops the least recently used buckets that are full again, and any beyond maxKeys. */
  function prune(at: number): void {
    for (const [key, bucket] of buckets) {
      if (buckets.size > maxKeys) buckets.delete(key);
      else if (refilled(bucket, at) >= limit) buckets.delete(key);
      else break;
    }
  }

  return {
    take(key) {
      const at = now();
      const bucket = buckets.get(key);
      const tokens = bucket ? refilled(bucket, at) : limit;
      buckets.delete(key);
      if (tokens < 1) {
        buckets.set(key, { tokens, at });
        return false;
      }
      buckets.set(key, { tokens: tokens - 1, at });
      prune(at);
      return true;
    },
    waitMs(key) {
      const bucket = buckets.get(key);
      if (!bucket) return 0;
      const tokens = refilled(bucket, now());
      return tokens >= 1 ? 0 : Math.ceil((1 - tokens) / perMs);
    },
    get size() {
      return buckets.size;
    },
  };
}
