/**
 * What a gateway counts and times, for Prometheus (GET /metrics). Each gateway has its own
 * registry (tests and `--workers` may run several in one process, and prom-client's global one
 * would mix them); the process metrics (CPU, memory, event loop, GC) describe the process whatever
 * gateways it runs, so they are collected once per process and joined to each scrape.
 * Adapters get only `AdapterMetrics`, never prom-client.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AdapterMetrics } from '../channels/port.js';
import { scrapeAcrossWorkers } from './worker-metrics.js';

/** Deliveries waiting on one channel, as the outbox's query gives them. */
export interface PendingDeliveries {
  channel: string;
  pending: number;
  /** When the oldest of them was queued. */
  oldestQueuedAt: Date;
}

export interface GatewayMetrics {
  letterRegistered(labels: { channel: string; direction: 'incoming' | 'outgoing' }): void;
  /** A delivery given up on (marked failed for the mail office). */
  deliveryFailed(labels: { channel: string; kind: string }): void;
  /** Writes committed together by one group commit, and how long its transaction held the register. */
  commitBatch(size: number, heldSeconds: number): void;
  forChannel(channel: string): AdapterMetrics;
  readonly contentType: string;
  scrape(): Promise<string>;
}

/** Seconds, from a millisecond (a commit, a cached DNS answer) to the DNS budget's scale. */
const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512];
/** Finer below 10 ms, where a write transaction's time sits: the hold time bounds how many commits a second the register takes. */
const HOLD_BUCKETS = [0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
const METRIC_NAME_PART = /^[a-z][a-z0-9_]*$/;

let processRegistry: Registry | undefined;

function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export function createGatewayMetrics({
  pendingDeliveries,
  now,
  acrossWorkers = false,
}: {
  pendingDeliveries: () => Promise<readonly PendingDeliveries[]>;
  now: () => Date;
  /** A worker of `wasl start --workers N`: each scrape answers for every worker (worker-metrics.ts). */
  acrossWorkers?: boolean;
}): GatewayMetrics {
  const registry = new Registry();
  const registered = new Counter({ name: 'wasl_letters_registered_total', help: 'Letters registered (duplicates not counted), by channel and direction', labelNames: ['channel', 'direction'] as const, registers: [registry] });
  const failed = new Counter({ name: 'wasl_deliveries_failed_total', help: 'Deliveries given up on and marked failed for the mail office, by channel and kind (forward, receipt, answer)', labelNames: ['channel', 'kind'] as const, registers: [registry] });
  const batches = new Histogram({ name: 'wasl_commit_batch_size', help: 'Writes committed together in one transaction and one disk flush', buckets: BATCH_BUCKETS, registers: [registry] });
  const held = new Histogram({
    name: 'wasl_register_write_seconds',
    help: "How long each write transaction held the register, from its start (PostgreSQL: the register lock taken) to its commit; PostgreSQL's commit includes its disk flush, SQLite's flush follows it",
    buckets: HOLD_BUCKETS,
    registers: [registry],
  });

  new Gauge({
    name: 'wasl_outbox_pending_deliveries',
    help: 'Deliveries queued and not yet sent, by channel',
    labelNames: ['channel'] as const,
    registers: [registry],
    // Every worker reads the same register: across workers the figure is theirs, not their sum.
    aggregator: 'max',
    async collect() {
      this.reset();
      for (const row of await pendingDeliveries()) this.set({ channel: row.channel }, row.pending);
    },
  });
  new Gauge({
    name: 'wasl_outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest delivery queued and not yet sent, by channel',
    labelNames: ['channel'] as const,
    registers: [registry],
    aggregator: 'max',
    async collect() {
      this.reset();
      for (const row of await pendingDeliveries()) this.set({ channel: row.channel }, Math.max(0, (now().getTime() - row.oldestQueuedAt.getTime()) / 1000));
    },
  });

  const durations = new Map<string, Histogram>();
  return {
    letterRegistered: (labels) => registered.inc(labels),
    deliveryFailed: (labels) => failed.inc(labels),
    commitBatch(size, heldSeconds) {
      batches.observe(size);
      held.observe(heldSeconds);
    },
    forChannel(channel) {
      return {
        duration(name, help) {
          const metricName = `wasl_${channel}_${name}_seconds`;
          if (!METRIC_NAME_PART.test(channel) || !METRIC_NAME_PART.test(name)) throw new Error(`not a metric name: ${metricName}`);
          let histogram = durations.get(metricName);
          if (!histogram) durations.set(metricName, (histogram = new Histogram({ name: metricName, help, buckets: SECONDS_BUCKETS, registers: [registry] })));
          const timed = histogram;
          return {
            start() {
              const end = timed.startTimer();
              return () => void end();
            },
          };
        },
      };
    },
    contentType: registry.contentType,
    scrape: acrossWorkers ? scrapeAcrossWorkers([processMetrics(), registry]) : () => Registry.merge([processMetrics(), registry]).metrics(),
  };
}
