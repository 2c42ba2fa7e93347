/**
 * Starts a real gateway for a test: a fresh data directory with a real SQLite file, SMTP and HTTP
 * on 127.0.0.1 with free ports, and (by default) a real SMTP sink as the outbound relay, standing
 * in for every department's and sender's mailbox.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import { afterEach } from 'vitest';
import { adapterDefinitions } from '../../src/channels/registry.js';
import type { AdapterDefinition } from '../../src/channels/port.js';
import { parseConfig, type WaslConfig } from '../../src/config/config.load.js';
import type { FlushToDisk } from '../../src/db/group-commit.js';
import type { QueryBuilder } from '../../src/db/register-tx.js';
import { createGateway, type Gateway } from '../../src/gateway.js';
import { keepUntilExit } from './keep-alive.js';
import { startMailSink, type MailSink } from './mail-sink.js';

export { waitFor } from './wait.js';

export type PartialConfig = Record<string, unknown>;

export const TEST_DEPARTMENTS = [
  { code: 'BO', names: { ar: 'مكتب الضبط', fr: "Bureau d'ordre", en: 'Mail office' }, addresses: ['courrier@wasl.local'], channels: { email: ['bo-team@dept.test'] } },
  { code: 'RH', names: { ar: 'الموارد البشرية', fr: 'Ressources humaines', en: 'Human resources' }, addresses: ['rh@wasl.local'], channels: { email: ['rh-team@dept.test'] } },
  { code: 'URB', names: { ar: 'التعمير', fr: 'Urbanisme', en: 'Urban planning' }, addresses: ['urbanisme@wasl.local'], channels: { email: ['urb-team@dept.test'] } },
];

function testConfig(relayUrl: string | null, dataDir: string): PartialConfig {
  return {
    dataDir,
    mail: { domain: 'wasl.local' },
    language: 'fr',
    http: { host: '127.0.0.1', port: 0 },
    routing: { fallbackDepartment: 'BO' },
    outbox: { pollIntervalMs: 50, concurrency: 4, maxAttempts: 5, retryBaseMs: 100, retryMaxMs: 1000 },
    log: { level: 'silent' },
    departments: TEST_DEPARTMENTS,
    adapters: { email: { smtp: { host: '127.0.0.1', port: 0, maxSize: 256 * 1024 }, outbound: { url: relayUrl, timeoutMs: 2000 } } },
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Objects merge key by key; arrays and values replace. */
export function deepMerge(base: PartialConfig, override: PartialConfig): PartialConfig {
  const merged: PartialConfig = { ...base };
  for (const [key, value] of Object.entries(override)) {
    merged[key] = isPlainObject(value) && isPlainObject(base[key]) ? deepMerge(base[key] as PartialConfig, value) : value;
  }
  return merged;
}

export interface TestGateway {
  gateway: Gateway;
  config: WaslConfig;
  readonly httpUrl: string;
  readonly smtpPort: number;
  dataDir: string;
  /** The relay every outgoing mail goes to (undefined with `relay: false`: the built-in mailbox keeps mail). */
  relay: MailSink | undefined;
  /** Stops the gateway and starts a new one on the same data directory (and ports). */
  restart(): Promise<void>;
  stopGateway(): Promise<void>;
  stop(): Promise<void>;
}

export async function startTestGateway({
  config = {},
  env = {},
  relay = true,
  now,
  adapters = adapterDefinitions,
  flushToDisk,
  logger = pino({ level: 'silent' }),
  dataDir: sharedDataDir,
}: {
  config?: PartialConfig;
  env?: Record<string, string>;
  relay?: boolean;
  /** The gateway's clock, for numbering across a year boundary. */
  now?: () => Date;
  /** The channel adapters (default: the registry's), e.g. an email adapter asking an in-memory DNS. */
  adapters?: readonly AdapterDefinition[];
  /** How commits reach the disk (default: fdatasync of the real WAL), e.g. a disk the test holds. */
  flushToDisk?: FlushToDisk;
  /** Silent unless a test reads what the gateway logs. */
  logger?: Logger;
  /** Another gateway's data directory, for its signing key and answer secret (gateways sharing a PostgreSQL register); kept at stop. */
  dataDir?: string;
} = {}): Promise<TestGateway> {
  const dataDir = sharedDataDir ?? mkdtempSync(join(tmpdir(), 'wasl-test-'));
  const sink = relay ? await startMailSink() : undefined;
  const settings = parseConfig({ raw: deepMerge(testConfig(sink?.url ?? null, dataDir), config), env, adapters });
  let gateway = await createGateway({ config: settings, logger, env, now, adapters, flushToDisk });
  await gateway.start();
  let running = true;
  const smtpPortOf = (current: Gateway) => current.adapters.get('email')?.listeningPort ?? 0;
  let smtpPort = smtpPortOf(gateway);
  let httpUrl = gateway.httpUrl;

  const handle: TestGateway = {
    get gateway() {
      return gateway;
    },
    config: settings,
    get httpUrl() {
      return httpUrl;
    },
    get smtpPort() {
      return smtpPort;
    },
    dataDir,
    relay: sink,
    async stopGateway() {
      if (running) await gateway.stop();
      running = false;
      keepUntilExit(gateway.database);
    },
    async restart() {
      await handle.stopGateway();
      const port = Number(new URL(httpUrl).port);
      const again = deepMerge(settings as unknown as PartialConfig, { http: { port }, adapters: { email: { smtp: { port: smtpPort } } } });
      gateway = await createGateway({ config: parseConfig({ raw: again, env, adapters }), logger, env, now, adapters, flushToDisk });
      await gateway.start();
      running = true;
      smtpPort = smtpPortOf(gateway);
      httpUrl = gateway.httpUrl;
    },
    async stop() {
      await handle.stopGateway();
      await sink?.stop();
      if (!sharedDataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}

/**
 * One gateway per test, stopped (with its data directory) after each test. Call it once at the
 * top of a test file; the function it returns starts the test's gateway.
 */
export function gatewayPerTest(): (options?: Parameters<typeof startTestGateway>[0]) => Promise<TestGateway> {
  let running: TestGateway | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
  });
  return async (options = {}) => {
    running = await startTestGateway(options);
    return running;
  };
}

/** What the gateway's register holds, read as the core reads it: through its unit of work, never beside it. */
export function readRegister<T>(gateway: Gateway, run: (db: QueryBuilder) => T | Promise<T>): Promise<T> {
  return gateway.database.read((tx) => run(tx.db));
}

/** Every row of one table of the gateway's register. */
export function rowsOf<T extends SQLiteTable>(gateway: Gateway, table: T): Promise<T['$inferSelect'][]> {
  return readRegister(gateway, (db) => db.select().from(table));
}
