/**
 * `wasl start --workers N`: N gateway processes on one machine sharing its listening ports, with
 * node:cluster. The primary runs no gateway: it forks the workers, starts another in place of one
 * that dies (waiting longer after each that dies soon after starting), and on SIGTERM or SIGINT
 * tells each to stop as one gateway stops (intake first, sends in flight finished) and exits once
 * all have. Each worker is a whole gateway on the PostgreSQL register they all share: numbers, the
 * chain, the outbox's leases and the limits live in the register, not in a process.
 *
 * The primary holds each listening socket and hands the connections to the workers in turn
 * (node:cluster's round robin). Port 0 (tests) is one port for all: a worker's n-th listen on port
 * 0 shares the primary's n-th socket, and every worker listens in the same order.
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { CoreConfig } from '../config/config.schema.js';
import { ConfigError } from '../config/config.load.js';
import { gatherMetricsForWorkers } from '../metrics/worker-metrics.js';

/** What a worker tells the primary once its gateway listens. */
interface Started {
  type: 'wasl:started';
  httpUrl: string;
  smtpPort: number | undefined;
}

const isStarted = (message: unknown): message is Started => (message as Started | null)?.type === 'wasl:started';

/** A worker that lived this long before dying is restarted at once; one that died sooner, after a longer wait each time. */
const HEALTHY_RUN_MS = 60_000;
const FIRST_RESTART_DELAY_MS = 1000;
const LONGEST_RESTART_DELAY_MS = 30_000;

/**
 * How many gateway processes to run, from `--workers` or the configuration's `workers`. Several
 * need the PostgreSQL register: on SQLite, two writer processes were measured slower than one, at
 * more CPU a letter (bench/README.md, "Several workers"), so they are refused, naming the key.
 */
export function gatewayProcesses({ setting, fromCommandLine, config }: { setting: CoreConfig['workers']; fromCommandLine: boolean; config: CoreConfig }): number {
  const count = setting === 'auto' ? availableParallelism() : setting;
  if (count > 1 && config.database.url === undefined) {
    const asked = setting === 'auto' ? `auto (${count} cores)` : String(count);
    throw new ConfigError([
      `${fromCommandLine ? '--workers' : 'workers'}: ${asked} gateway processes need the PostgreSQL register (database.url or WASL_DATABASE_URL); on the SQLite register several writer processes were measured slower than one (bench/README.md), so run 1 there`,
    ]);
  }
  return count;
}

/** This process's worker number under `--workers`, or undefined when it is the only gateway process. */
export const workerNumber = (): number | undefined => cluster.worker?.id;

/** In a worker: tells the primary its gateway listens (the primary announces the whole once all do). */
export function reportStarted({ httpUrl, smtpPort }: Omit<Started, 'type'>): void {
  process.send!({ type: 'wasl:started', httpUrl, smtpPort } satisfies Started);
}

/**
 * The primary: forks `count` workers (each runs this same command, which finds itself a worker),
 * keeps that many running, and stops them on SIGTERM or SIGINT. Returns at once; the process then
 * lives on its workers and exits 0 once every one stopped cleanly, else 1 (as when one could not
 * start: the others are stopped).
 */
export function runPrimary({ count, configSource }: { count: number; configSource: string }): void {
  gatherMetricsForWorkers();
  const startedAt = new Map<Worker, number>();
  let running = 0;
  let announced = false;
  let stopping = false;
  let failed = false;
  let quickDeaths = 0;
  const restarts = new Set<NodeJS.Timeout>();
  const started: Started[] = [];
  const say = (text: string): void => void process.stderr.write(`wasl: ${text}\n`);

  const fork = (): void => {
    const worker = cluster.fork();
    running += 1;
    startedAt.set(worker, Date.now());
    worker.on('message', (message: unknown) => {
      if (!isStarted(message)) return;
      if (announced) {
        say(`worker ${worker.id} (pid ${worker.process.pid}) started`);
        return;
      }
      started.push(message);
      if (started.length < count) return;
      announced = true;
      const { httpUrl, smtpPort } = message;
      say(`registering letters with ${count} workers (pids ${[...startedAt.keys()].map((each) => each.process.pid).join(', ')}). Web ${httpUrl}${smtpPort ? `, SMTP port ${smtpPort}` : ''}; config ${configSource}`);
    });
  };

  const stopAll = (): void => {
    stopping = true;
    restarts.forEach(clearTimeout);
    restarts.clear();
    // Each worker stops itself on SIGTERM, as a lone gateway does; disconnecting it would close its servers under it.
    for (const worker of startedAt.keys()) if (worker.process.pid !== undefined && worker.isConnected()) process.kill(worker.process.pid, 'SIGTERM');
    if (running === 0) process.exit(failed ? 1 : 0);
  };

  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker) ?? Date.now());
    startedAt.delete(worker);
    running -= 1;
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    if (stopping) {
      if (code !== 0) failed = true;
      if (running === 0) process.exit(failed ? 1 : 0);
      return;
    }
    if (!announced) {
      // It could not start (its reason is on stderr): the configuration, the ports or the register will not let any other.
      say(`worker ${worker.id} (pid ${worker.process.pid}) ended before it started (${how}); stopping the others`);
      failed = true;
      stopAll();
      return;
    }
    quickDeaths = lived >= HEALTHY_RUN_MS ? 0 : quickDeaths + 1;
    const delayMs = quickDeaths === 0 ? 0 : Math.min(LONGEST_RESTART_DELAY_MS, FIRST_RESTART_DELAY_MS * 2 ** (quickDeaths - 1));
    say(`worker ${worker.id} (pid ${worker.process.pid}) died (${how}) after ${Math.round(lived / 1000)} s; starting another${delayMs > 0 ? ` in ${delayMs / 1000} s` : ''}`);
    const restart = setTimeout(() => {
      restarts.delete(restart);
      if (!stopping) fork();
    }, delayMs);
    restarts.add(restart);
  });

  const onSignal = (signal: string) => () => {
    if (stopping) return;
    say(`${signal} received, stopping the ${running} workers (each stops intake and drains its deliveries)`);
    stopAll();
  };
  process.on('SIGTERM', onSignal('SIGTERM'));
  process.on('SIGINT', onSignal('SIGINT'));
  for (let index = 0; index < count; index += 1) fork();
}
