/**
 * Builds a gateway from a validated configuration: the register, the outbox, the web server and
 * every channel adapter that has settings. `start` opens the doors; `stop` closes intake first,
 * lets sends in flight finish, then closes the register.
 */
import { resolve } from 'node:path';
import type { Logger } from 'pino';
import { adapterDefinitions } from './channels/registry.js';
import type { AdapterDefinition, ChannelAdapter, GatewayPort, GatewaySettings } from './channels/port.js';
import type { WaslConfig } from './config/config.load.js';
import { lockDataDirectory } from './db/data-dir-lock.js';
import type { FlushToDisk } from './db/group-commit.js';
import { describeRegister, openGatewayRegister, type EngineRegister } from './db/open-register.js';
import { createLeadership, type LeadWork } from './leases/leadership.js';
import { forgetLeases } from './leases/leases.repository.js';
import { processHolder } from './leases/process-holder.js';
import * as letterRepository from './letters/letters.repository.js';
import { createRegister, type Register } from './letters/letters.usecases.js';
import { olderTimeZoneDataWarning, shippedTimeZoneData } from './letters/time-zone-data.js';
import { loadOrCreateSigningKey } from './evidence/signing-key.js';
import { createLogger } from './logger.js';
import { keepMessage } from './mailbox/mailbox.repository.js';
import { recordBounces } from './outbox/bounces.js';
import { createComposer } from './outbox/compose.js';
import { deliveryByExternalId, pendingByChannel } from './outbox/outbox.repository.js';
import { createRateLimits } from './limits/rate-limits.js';
import { createGatewayMetrics } from './metrics/gateway-metrics.js';
import { createOutboxWorker, type OutboxWorker } from './outbox/outbox.worker.js';
import { adapterTokens, createAnswerTokens, loadOrCreateSecret } from './receipts/tokens.js';
import { createRouter } from './routing/routing.js';
import { loadTemplates } from './templates/templates.js';
import { createWebServer, isLoopbackHost } from './web/server.js';
import { makePrivateDirectory } from './paths.js';

export interface Gateway {
  config: WaslConfig;
  /** The register, as a unit of work: every read and write of the core goes through it. */
  database: EngineRegister;
  port: GatewayPort;
  register: Register;
  outbox: OutboxWorker;
  adapters: ReadonlyMap<string, ChannelAdapter>;
  /** Channels that are off, with the reason (said once at start). */
  channelsOff: ReadonlyMap<string, string>;
  /** The bound HTTP address, once started. */
  readonly httpUrl: string;
  readonly publicUrl: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Opens the register (migrating it) and builds everything on it; `start` opens the doors. */
export async function createGateway({
  config,
  logger = createLogger(config.log.level),
  now = () => new Date(),
  env = process.env,
  adapters: definitions = adapterDefinitions,
  flushToDisk,
  metricsAcrossWorkers = false,
}: {
  config: WaslConfig;
  logger?: Logger;
  now?: () => Date;
  env?: NodeJS.ProcessEnv;
  /** The channel adapters to run; the registry's by default (tests hand in one with an offline DNS). */
  adapters?: readonly AdapterDefinition[];
  /** How the SQLite register's commits reach the disk; fdatasync on its WAL by default (tests hold or fail it). */
  flushToDisk?: FlushToDisk | undefined;
  /** A worker of `wasl start --workers N`: /metrics answers for all the workers. */
  metricsAcrossWorkers?: boolean;
}): Promise<Gateway> {
  const dataDir = resolve(config.dataDir);
  makePrivateDirectory(dataDir);
  // One gateway per SQLite register unless meant; gateways on PostgreSQL share the data directory's keys by design.
  const dataDirLock = config.database.lockDataDir && config.database.url === undefined ? lockDataDirectory(dataDir) : undefined;
  // The backlog is read on scrape only, long after the register below is open.
  const metrics = createGatewayMetrics({ pendingDeliveries: () => database.read((tx) => pendingByChannel(tx)), now, acrossWorkers: metricsAcrossWorkers });
  let database: EngineRegister;
  try {
    database = await openGatewayRegister({ config, flushToDisk, onBatch: metrics.commitBatch });
  } catch (error) {
    dataDirLock?.release();
    throw error;
  }
  const registerPlace = describeRegister(config);
  const secret = loadOrCreateSecret({ dataDir, env });
  const answerTokens = createAnswerTokens(secret);
  const signingKey = loadOrCreateSigningKey({ dataDir, privateKeyPath: config.receipts.signingKeyPath });
  const router = createRouter({
    domain: config.mail.domain,
    departments: config.departments,
    mailOffice: config.routing.mailOffice ?? config.routing.fallbackDepartment,
  });
  const templates = loadTemplates();
  const adapters = new Map<string, ChannelAdapter>();
  const channelsOff = new Map<string, string>();
  let httpUrl = '';
  const publicUrl = () => (config.publicUrl ?? httpUrl).replace(/\/$/, '');

  const register = createRegister({
    database,
    signingKey,
    config,
    router,
    answerTokens,
    now,
    publicUrl,
    activeChannels: () => new Set(adapters.keys()),
    // The worker is built below (it needs the register); no letter arrives before start.
    outbox: { taking: () => worker.taking(), take: (deliveries, stored) => worker.take(deliveries, stored) },
    logger,
  });

  const port: GatewayPort = {
    async accept(letter) {
      const acceptance = await register.accept(letter);
      if (!acceptance.duplicate) metrics.letterRegistered({ channel: letter.channel, direction: acceptance.answers ? 'outgoing' : 'incoming' });
      return acceptance;
    },
    routeRecipient: (address) => router.routeRecipient(address),
    departments: () => router.departments,
    findLetter: (number) => register.findLetter(number),
    listLetters: (filter) => register.listLetters(filter),
    recordAction: (input) => register.recordAction(input),
    answerTokenForThread: (channel, externalId) =>
      database.read(async (tx) => {
        const delivery = await deliveryByExternalId(tx, { channel, externalId });
        return delivery?.kind === 'forward' ? answerTokens.tokenFor(delivery.letterId) : undefined;
      }),
    registeredFrom: (message) => database.read(async (tx) => (await letterRepository.lettersByChannelMessage(tx, message))[0]?.number),
    // Acted on once only if the claim outlives a power cut: it waits for the disk, as SQLite's own commit did.
    claimEvent: (channel, eventId) => database.write((tx) => letterRepository.claimEvent(tx, { channel, eventId })),
    async reportUndeliverable({ deliveryIds, reason }) {
      const marked = await database.write((tx) => recordBounces(tx, { deliveryIds, reason, at: now() }));
      for (const bounced of marked) metrics.deliveryFailed({ channel: bounced.channel, kind: bounced.kind });
      return marked.map(({ deliveryId, number }) => ({ deliveryId, number }));
    },
    keepInMailbox: (message) => database.write((tx) => keepMessage(tx, { message, at: now() })),
  };

  const web = createWebServer({ config, database, router, templates, signingKey, publicUrl, logger, metrics });
  // What this process holds in the register (leases, outbox claims) is held under one name.
  const holder = processHolder();
  // The same on SQLite, where one gateway has the data directory: one small write every few seconds
  // is cheap, and one code path is the one the tests exercise.
  const leadership = createLeadership({ register: database, holder, now, logger, ...config.leadership });
  const led: { name: string; work: LeadWork }[] = [];
  const settings: GatewaySettings = {
    domain: config.mail.domain,
    get publicUrl() {
      return publicUrl();
    },
    dataDir,
    officeName: config.mail.officeName,
    fromLocalPart: config.mail.fromLocalPart,
    defaultLanguage: config.language,
    timezone: config.timezone,
  };
  for (const definition of definitions) {
    const created = definition.create({
      config: config.adapters[definition.name],
      settings,
      port,
      logger: logger.child({ channel: definition.name }),
      http: web,
      now,
      tokens: (purpose) => adapterTokens(secret, purpose),
      metrics: metrics.forChannel(definition.name),
      limits: createRateLimits({ database, now, channel: definition.name }),
      lead: (name, work) => void led.push({ name: `${definition.name}.${name}`, work }),
    });
    if ('off' in created) channelsOff.set(definition.name, created.off);
    else adapters.set(definition.name, created);
  }

  const composer = createComposer({ database, config, templates, router, register, answerTokens, now });
  const worker = createOutboxWorker({
    database,
    adapters,
    composer,
    config: config.outbox,
    now,
    logger,
    onDeliveryFailed: (delivery) => metrics.deliveryFailed({ channel: delivery.channel, kind: delivery.kind }),
    // No other process writes the SQLite register of a locked data directory: its gateway claims under
    // one name from run to run, so a start after a crash sends again at once what was being sent.
    // Never so on a shared register: there the name must be this process's alone (the default).
    holder: dataDirLock ? `sole gateway of ${registerPlace}` : holder,
  });

  return {
    config,
    database,
    port,
    register,
    outbox: worker,
    adapters,
    channelsOff,
    get httpUrl() {
      return httpUrl;
    },
    get publicUrl() {
      return publicUrl();
    },
    async start() {
      httpUrl = await web.listen();
      if (config.http.exposeMailbox && !isLoopbackHost(config.http.host)) {
        logger.error({ phase: 'start', http: httpUrl }, 'the built-in mailbox is served off loopback (http.exposeMailbox): whoever reaches this address reads every message sent, receipt links included; keep an access control in front of it');
      } else if (!isLoopbackHost(config.http.host)) {
        logger.warn({ phase: 'start', http: httpUrl }, `the web server listens off loopback (http.host ${config.http.host}): receipt pages are reachable from the network, serve them through TLS; /mailbox is not served there`);
      }
      for (const [name, reason] of channelsOff) logger.info({ channel: name, phase: 'start' }, `channel off: ${reason}`);
      for (const adapter of adapters.values()) await adapter.start();
      // Alone on the register (its data directory locked): a lease there is a killed predecessor's.
      if (dataDirLock) await database.write((tx) => forgetLeases(tx), { wait: 'commit' });
      for (const { name, work } of led) await leadership.lead(name, work);
      await worker.start();
      // The office calendar follows the time-zone release ICU loaded as the process started (vendor/icu-tzdata/README.md).
      const calendar = { timezone: config.timezone, tzdata: process.versions.tz };
      const olderCalendar = olderTimeZoneDataWarning({ running: process.versions.tz, shipped: shippedTimeZoneData(), overridden: env.ICU_TIMEZONE_FILES_DIR });
      if (olderCalendar) logger.warn({ phase: 'start', calendar }, olderCalendar);
      logger.info({ phase: 'start', http: httpUrl, publicUrl: publicUrl(), channels: [...adapters.keys()], register: { engine: database.engine, at: registerPlace }, calendar }, 'wasl gateway started');
    },
    async stop() {
      // Intake first: nothing new is accepted while the rest winds down. The led work is intake too,
      // and its leases are given back at once, for another gateway to take it without waiting.
      await leadership.stop();
      await Promise.allSettled([...adapters.values()].map((adapter) => adapter.stop()));
      await worker.stop();
      await web.close();
      await database.close();
      dataDirLock?.release();
      logger.info({ phase: 'stop' }, 'wasl gateway stopped');
    },
  };
}
