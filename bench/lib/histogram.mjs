/**
 * A Prometheus histogram read from the gateway's /metrics, and its percentiles as Prometheus'
 * histogram_quantile computes them: linear within the bucket the rank falls in. A percentile is
 * then known to the width of its bucket (wasl_register_write_seconds: 0.5–1 ms below 3 ms,
 * coarser above), which the figures say.
 */

/** The cumulative bucket counts of one histogram, by upper bound in seconds (Infinity last), with its sum and count. */
export async function scrapeHistogram({ url, name }) {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!response.ok) throw new Error(`GET ${url}: ${response.status}`);
  const text = await response.text();
  const buckets = [];
  let sum = 0;
  let count = 0;
  for (const line of text.split('\n')) {
    const bucket = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\S+)$`).exec(line);
    if (bucket) buckets.push({ le: bucket[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(bucket[1]), count: Number(bucket[2]) });
    if (line.startsWith(`${name}_sum `)) sum = Number(line.split(' ')[1]);
    if (line.startsWith(`${name}_count `)) count = Number(line.split(' ')[1]);
  }
  if (buckets.length === 0) throw new Error(`${url} has no histogram ${name}`);
  return { buckets, sum, count };
}

/** What was observed between two scrapes of the same histogram. */
export function histogramSince(later, earlier) {
  return {
    buckets: later.buckets.map((bucket, index) => ({ le: bucket.le, count: bucket.count - (earlier?.buckets[index]?.count ?? 0) })),
    sum: later.sum - (earlier?.sum ?? 0),
    count: later.count - (earlier?.count ?? 0),
  };
}

/** The p-th percentile (0..100), interpolated in its bucket; NaN with no observation. */
export function histogramPercentile({ buckets, count }, p) {
  if (count === 0) return Number.NaN;
  const rank = (p / 100) * count;
  let lowerBound = 0;
  let below = 0;
  for (const { le, count: upTo } of buckets) {
    if (upTo >= rank) {
      // In the open-ended bucket nothing bounds it: the last finite bound is all that is known.
      if (!Number.isFinite(le)) return lowerBound;
      const inBucket = upTo - below;
      return inBucket === 0 ? le : lowerBound + ((le - lowerBound) * (rank - below)) / inBucket;
    }
    lowerBound = le;
    below = upTo;
  }
  return lowerBound;
}
