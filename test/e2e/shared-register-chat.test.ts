/**
 * Chat intake on gateways sharing one PostgreSQL register: the Matrix sync and Slack's Socket Mode
 * connection run on one gateway at a time (the holder of their lease) and move to another when it
 * stops or dies; every gateway sends. Alone on SQLite, a gateway restarted after a crash takes its
 * work back at once. Real gateways, a real PostgreSQL 15 server, the local
 * homeserver and Slack stand-ins speaking the platforms' APIs.
 */
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { and, eq } from 'drizzle-orm';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { spawnWasl } from '../helpers/cli.js';
import { startFakeSlack } from '../helpers/fake-slack.js';
import { bodyOf, notices, SERVER_NAME, startMatrixWorld, type FakeMatrix, type MatrixWorld } from '../helpers/fake-matrix.js';
import { deepMerge, startTestGateway, waitFor, type PartialConfig, type TestGateway } from '../helpers/gateway.js';
import { POSTGRES_SKIP_REASON, postgresPerFile } from '../helpers/postgres-server.js';
import { SLACK_DEPARTMENTS } from '../helpers/slack-world.js';
import { sendLetter } from '../helpers/smtp-client.js';

/** Short leases, so that a gateway that dies hands its work over while the test waits. */
const LEADERSHIP = { ttlMs: 2000, renewEveryMs: 200 };
const NUMBER = /\d{4}-A-\d{6}/;
/** Lets several renewals go by, so that a second gateway taking work it must not would have done it. */
const severalRenewals = () => new Promise((resolve) => setTimeout(resolve, LEADERSHIP.renewEveryMs * 5));

/** The sync requests the homeserver had with this access token: each gateway logs the bot in with its own. */
const syncsWith = (fake: FakeMatrix, token: string) => fake.requests.filter((request) => request.path === '/_matrix/client/v3/sync' && request.token === token).length;

/** A gateway beside the Matrix world's own, on the same register, keys and rooms, with its own login of the bot. */
async function secondMatrixGateway(world: MatrixWorld, token: string, config: PartialConfig): Promise<TestGateway> {
  world.fake.addUser(world.bot, { token });
  return startTestGateway({
    config: { ...config, departments: world.gateway.config.departments, adapters: { matrix: { allowedInviters: [SERVER_NAME] } } },
    env: { ...world.matrixEnv, WASL_MATRIX_ACCESS_TOKEN: token },
    dataDir: world.gateway.dataDir,
  });
}

/** A citizen's `!courrier send` in her room with the bot; resolves with the number of its receipt. */
async function sendFromMatrix(world: MatrixWorld, subject: string): Promise<string> {
  const before = notices({ fake: world.fake, roomId: world.citizenRoom, sender: world.bot }).length;
  world.fake.sendAs({ roomId: world.citizenRoom, sender: world.citizen, content: { msgtype: 'm.text', body: `!courrier send RH ${subject}\nBonjour.` } });
  const receipts = await world.waitForNotices(world.citizenRoom, before + 1, { timeoutMs: 20_000 });
  return NUMBER.exec(bodyOf(receipts[before]!))![0];
}

/** A `wasl start` process on a data directory, with free ports: a gateway the test can kill with SIGKILL. */
function spawnGateway({ dataDir, name, config, env }: { dataDir: string; name: string; config: PartialConfig; env: Record<string, string> }): ChildProcess {
  const configFile = join(dataDir, `${name}.yaml`);
  writeFileSync(configFile, stringify(deepMerge({ dataDir, http: { port: 0 }, log: { level: 'silent' }, adapters: { email: { smtp: { port: 0 } } } }, config)));
  return spawnWasl({ args: ['--config', configFile, 'start'], env });
}

/** A gateway process on the Matrix world's data directory and rooms, logged in with its own token, once it syncs. */
async function spawnSyncingGateway(world: MatrixWorld, { token, config }: { token: string; config: PartialConfig }): Promise<ChildProcess> {
  world.fake.addUser(world.bot, { token });
  const child = spawnGateway({
    dataDir: world.gateway.dataDir,
    name: token,
    config: { ...config, departments: world.gateway.config.departments, adapters: { email: { outbound: { url: world.gateway.relay!.url } }, matrix: { allowedInviters: [SERVER_NAME] } } },
    env: { ...world.matrixEnv, WASL_MATRIX_ACCESS_TOKEN: token },
  });
  await waitFor(() => syncsWith(world.fake, token) > 1, { timeoutMs: 30_000, what: 'the spawned gateway to sync' });
  return child;
}

async function kill(child: ChildProcess): Promise<void> {
  child.kill('SIGKILL');
  if (child.exitCode === null && child.signalCode === null) await once(child, 'close');
}

describe('one gateway on its SQLite register', () => {
  it('killed while it syncs, syncs again as soon as it is restarted, without waiting for its own lease to expire', { timeout: 90_000 }, async () => {
    // A lease that would outlast the test: only knowing it is alone lets the restarted gateway sync.
    const config = { leadership: { ttlMs: 300_000, renewEveryMs: 100_000 } };
    const world = await startMatrixWorld({ config });
    let killed: ChildProcess | undefined;
    try {
      await world.gateway.stopGateway();
      killed = await spawnSyncingGateway(world, { token: 'syt_killed_gateway', config });
      await kill(killed);

      const syncsBefore = syncsWith(world.fake, world.matrixEnv.WASL_MATRIX_ACCESS_TOKEN!);
      await world.gateway.restart();
      await waitFor(() => syncsWith(world.fake, world.matrixEnv.WASL_MATRIX_ACCESS_TOKEN!) > syncsBefore, { what: 'the restarted gateway to sync' });
      const number = await sendFromMatrix(world, 'Demande de congé');
      expect((await world.gateway.gateway.port.listLetters({})).map((letter) => letter.number)).toEqual([number]);
    } finally {
      if (killed) await kill(killed);
      await world.stop();
    }
  });
});

describe.skipIf(POSTGRES_SKIP_REASON !== undefined)('chat intake on gateways sharing one PostgreSQL register', () => {
  const postgres = postgresPerFile();

  it('the Matrix sync runs on one gateway; when it stops, the other syncs and the next message is registered, each once', { timeout: 60_000 }, async () => {
    const config = { database: { url: await postgres().createDatabase() }, leadership: LEADERSHIP };
    const world = await startMatrixWorld({ config });
    const second = await secondMatrixGateway(world, 'syt_second_gateway', config);
    try {
      await severalRenewals();
      expect(syncsWith(world.fake, world.matrixEnv.WASL_MATRIX_ACCESS_TOKEN!)).toBeGreaterThan(0);
      expect(syncsWith(world.fake, 'syt_second_gateway')).toBe(0);

      const first = await sendFromMatrix(world, 'Demande de congé');
      expect((await second.gateway.port.listLetters({})).map((letter) => letter.number)).toEqual([first]);

      await world.gateway.stopGateway();
      await waitFor(() => syncsWith(world.fake, 'syt_second_gateway') > 0, { what: 'the second gateway to sync' });
      const next = await sendFromMatrix(world, 'Attestation de travail');
      expect((await second.gateway.port.listLetters({})).map((letter) => letter.number).sort()).toEqual([first, next].sort());
      // One answer per message: the command read by the second gateway's first sync again is known.
      expect(notices({ fake: world.fake, roomId: world.citizenRoom, sender: world.bot })).toHaveLength(2);
    } finally {
      await second.stop();
      await world.stop();
    }
  });

  it('a gateway that gave up the sync while the register was away takes it back when it returns, and registers the message it dropped', { timeout: 60_000 }, async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const world = await startMatrixWorld({ config: { database: { url: await postgres().createDatabase() }, leadership: LEADERSHIP }, logger });
    try {
      await postgres().halt();
      world.fake.sendAs({ roomId: world.citizenRoom, sender: world.citizen, content: { msgtype: 'm.text', body: '!courrier send RH Pendant la panne\nBonjour.' } });
      // Unable to renew its lease, it stops syncing before another gateway could take over.
      await waitFor(() => lines.some((line) => line.includes('this gateway stops the work of its lease')), { timeoutMs: 20_000, what: 'the gateway to stop syncing' });
      await postgres().start();

      const receipted = () => notices({ fake: world.fake, roomId: world.citizenRoom, sender: world.bot }).filter((event) => NUMBER.test(bodyOf(event)));
      await waitFor(() => receipted().length > 0, { timeoutMs: 30_000, what: 'the receipt of the message sent while the register was away' });
      const number = NUMBER.exec(bodyOf(receipted()[0]!))![0];
      expect((await world.gateway.gateway.port.listLetters({})).map((letter) => letter.number)).toEqual([number]);
    } finally {
      await world.stop();
    }
  });

  it('a gateway that does not sync still posts to Matrix, and asks the homeserver before posting in a room that became encrypted', { timeout: 60_000 }, async () => {
    const config = { database: { url: await postgres().createDatabase() }, leadership: LEADERSHIP };
    const world = await startMatrixWorld({ config });
    const second = await secondMatrixGateway(world, 'syt_sender_gateway', config);
    try {
      // The syncing gateway sends nothing: every delivery goes out from the other one.
      await world.gateway.gateway.outbox.stop();
      const email = (subject: string) =>
        sendLetter({ port: second.smtpPort, from: 'amina@citizen.test', to: ['rh@wasl.local'], message: `From: amina@citizen.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@citizen.test>\r\n\r\nBonjour.\r\n` });
      const postedToRh = () => world.fake.requests.filter((request) => request.method === 'PUT' && request.path.includes(`/rooms/${encodeURIComponent(world.rhRoom)}/send/`));

      const plain = NUMBER.exec((await email('Avant chiffrement')).data!.text)![0];
      await waitFor(() => notices({ fake: world.fake, roomId: world.rhRoom, sender: world.bot }).some((event) => bodyOf(event).includes(plain)), { what: 'the forward in the RH room' });
      expect(postedToRh().map((request) => request.token)).toEqual(['syt_sender_gateway']);

      world.fake.sendAs({ roomId: world.rhRoom, sender: world.agent, type: 'm.room.encryption', stateKey: '', content: { algorithm: 'm.megolm.v1.aes-sha2' } });
      const secret = NUMBER.exec((await email('Après chiffrement')).data!.text)![0];
      const matrixDeliveries = () =>
        second.gateway.database.read((tx) => {
          const { deliveries, letters } = tx.tables;
          return tx.db
            .select({ status: deliveries.status, code: deliveries.lastErrorCode })
            .from(deliveries)
            .innerJoin(letters, eq(letters.id, deliveries.letterId))
            .where(and(eq(letters.number, secret), eq(deliveries.channel, 'matrix')));
        });
      await waitFor(async () => (await matrixDeliveries()).some((row) => row.status === 'failed'), { what: 'the forward into the encrypted room to be refused' });
      expect(await matrixDeliveries()).toEqual([{ status: 'failed', code: 'matrix.room_encrypted' }]);
      expect(postedToRh()).toHaveLength(1);
    } finally {
      await second.stop();
      await world.stop();
    }
  });

  it('when the syncing gateway is killed, another takes the sync once its lease has expired', { timeout: 90_000 }, async () => {
    const config = { database: { url: await postgres().createDatabase() }, leadership: LEADERSHIP };
    // The world's own gateway is not started on the register: the killed one must hold the lease first.
    const world = await startMatrixWorld({ config: { leadership: LEADERSHIP } });
    let killed: ChildProcess | undefined;
    let survivor: TestGateway | undefined;
    try {
      await world.gateway.stopGateway();
      killed = await spawnSyncingGateway(world, { token: 'syt_killed_gateway', config });

      survivor = await secondMatrixGateway(world, 'syt_survivor_gateway', config);
      const first = await sendFromMatrix(world, 'Demande de congé');
      expect(syncsWith(world.fake, 'syt_survivor_gateway')).toBe(0);

      await kill(killed);
      await waitFor(() => syncsWith(world.fake, 'syt_survivor_gateway') > 0, { timeoutMs: 20_000, what: 'the surviving gateway to take the sync' });
      const next = await sendFromMatrix(world, 'Attestation de travail');
      expect((await survivor.gateway.port.listLetters({})).map((letter) => letter.number).sort()).toEqual([first, next].sort());
      expect(notices({ fake: world.fake, roomId: world.citizenRoom, sender: world.bot })).toHaveLength(2);
    } finally {
      if (killed) await kill(killed);
      await survivor?.stop();
      await world.stop();
    }
  });

  /** Slack in Socket Mode and the settings of a gateway using it on a fresh register. */
  async function socketModeSetup() {
    const slack = await startFakeSlack({ botToken: 'xoxb-test-token', appToken: 'xapp-test-token' });
    const config = { database: { url: await postgres().createDatabase() }, leadership: LEADERSHIP, departments: SLACK_DEPARTMENTS };
    const env = { WASL_SLACK_BOT_TOKEN: 'xoxb-test-token', WASL_SLACK_APP_TOKEN: 'xapp-test-token', WASL_SLACK_SOCKET_MODE: 'true', WASL_SLACK_API_URL: slack.apiUrl };
    /** A person's `/courrier send`, over the app's open socket; resolves with the number its acknowledgement gives. */
    const command = async (subject: string, triggerId: string) => {
      const ack = await slack.sendEnvelope({
        type: 'slash_commands',
        payload: { command: '/courrier', text: `send RH ${subject}\nBonjour`, user_id: 'U0ALICE', user_name: 'alice', channel_id: 'C0GENERAL', team_id: 'T0WASL', trigger_id: triggerId, response_url: slack.responseUrl() },
      });
      return NUMBER.exec(String(ack.text))![0];
    };
    return { slack, config, env, command };
  }

  it('Slack’s Socket Mode connection is held by one gateway; when it stops, the other connects and takes the next command', { timeout: 60_000 }, async () => {
    const { slack, config, env, command } = await socketModeSetup();
    const first = await startTestGateway({ config, env });
    const second = await startTestGateway({ config, env, dataDir: first.dataDir });
    try {
      await severalRenewals();
      expect(slack.callsTo('apps.connections.open')).toHaveLength(1);
      expect(slack.openSockets).toBe(1);
      const one = await command('Attestation', '1.2.3');

      await first.stopGateway();
      await waitFor(() => slack.callsTo('apps.connections.open').length === 2 && slack.openSockets === 1, { what: 'the second gateway to connect' });
      const other = await command('Mutation', '4.5.6');
      expect((await second.gateway.port.listLetters({})).map((letter) => letter.number).sort()).toEqual([one, other].sort());
      // Sending does not need the socket: the forwards of both letters reach RH's channel from the gateway left.
      await waitFor(() => slack.callsTo('chat.postMessage').filter((call) => call.args.channel === 'C0RH').length === 2, { what: 'both forwards in C0RH' });
    } finally {
      await second.stop();
      await first.stop();
      await slack.stop();
    }
  });

  it('when the gateway holding Slack’s socket is killed, another connects once its lease has expired and takes the next command', { timeout: 90_000 }, async () => {
    const { slack, config, env, command } = await socketModeSetup();
    const dataDir = mkdtempSync(join(tmpdir(), 'wasl-killed-'));
    const killed = spawnGateway({ dataDir, name: 'killed', config, env });
    let survivor: TestGateway | undefined;
    try {
      await waitFor(() => slack.openSockets === 1, { timeoutMs: 30_000, what: 'the spawned gateway to connect' });
      survivor = await startTestGateway({ config, env, dataDir });
      const one = await command('Attestation', '1.2.3');
      expect(slack.callsTo('apps.connections.open')).toHaveLength(1);

      await kill(killed);
      await waitFor(() => slack.callsTo('apps.connections.open').length === 2 && slack.openSockets === 1, { timeoutMs: 20_000, what: 'the surviving gateway to connect' });
      const other = await command('Mutation', '4.5.6');
      expect((await survivor.gateway.port.listLetters({})).map((letter) => letter.number).sort()).toEqual([one, other].sort());
    } finally {
      await kill(killed);
      await survivor?.stop();
      await slack.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
