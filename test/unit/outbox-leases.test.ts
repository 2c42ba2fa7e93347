/**
 * Several gateways on one PostgreSQL register share its outbox: each worker claims under its own
 * name and a lease it renews while it sends. Two registers opened on one database stand for two
 * gateways, each sending email through the email adapter's own sender to one real SMTP relay;
 * the clock is the test's, moved by hand, so a lease runs out when the test says.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { createMailSender } from '../../adapters/email/smtp-outgoing.js';
import { createVerp } from '../../adapters/email/verp.js';
import type { ChannelAdapter, OutboundMessage } from '../../src/channels/port.js';
import type { WaslConfig } from '../../src/config/config.load.js';
import type { RegisterTx } from '../../src/db/register-tx.js';
import type { UnitOfWork } from '../../src/db/unit-of-work.js';
import * as letters from '../../src/letters/letters.repository.js';
import type { Composer } from '../../src/outbox/compose.js';
import * as outbox from '../../src/outbox/outbox.repository.js';
import { createOutboxWorker, type OutboxWorker } from '../../src/outbox/outbox.worker.js';
import { adapterTokens } from '../../src/receipts/tokens.js';
import { startMailSink, type MailSink } from '../helpers/mail-sink.js';
import { POSTGRES_SKIP_REASON, startPostgres, temporaryPostgresRegister, type PostgresServer } from '../helpers/postgres-server.js';
import { REGISTERED_AT, registerLetter } from '../helpers/register-rows.js';
import { waitFor } from '../helpers/wait.js';

const LEASE_MS = 600;
const config: WaslConfig['outbox'] = { pollIntervalMs: 20, concurrency: 4, maxAttempts: 5, retryBaseMs: 100, retryMaxMs: 1000, leaseMs: LEASE_MS };

/** The gateways' clock: it stands still until the test moves it. */
function handClock() {
  let time = REGISTERED_AT.getTime();
  return { now: () => new Date(time), move: (ms: number) => (time += ms), at: () => time };
}

/** What a gateway's email channel handed to the relay: the delivery, and the Message-ID it went with. */
interface Sent {
  gateway: string;
  deliveryId: number;
  messageId: string;
}

/** The secret every gateway of the office shares (the README's "several gateways"). */
const SECRET = randomBytes(32);
const DOMAIN = 'wasl.test';

/** The message of a delivery, to the department's mailbox (the rows here name none), under its letter's number. */
function composerOver(database: UnitOfWork<RegisterTx>): Composer {
  return {
    async compose(delivery) {
      const letter = (await database.read((tx) => letters.letterById(tx, delivery.letterId)))!;
      return {
        deliveryId: delivery.id,
        kind: delivery.kind,
        to: { channel: delivery.channel, id: 'urb@dept.test' },
        subject: letter.subject ?? '',
        text: letter.bodyText,
        attachments: [],
        letter: {
          number: letter.number,
          direction: 'incoming',
          channel: letter.channel,
          sender: { channel: letter.channel, id: letter.senderId },
          subject: letter.subject ?? undefined,
          departments: [],
          status: 'registered',
          registeredAt: letter.registeredAt,
          receiptUrl: '',
        },
        attempt: delivery.attempts,
      };
    },
  };
}

/**
 * The register as a gateway process sees it, until the process dies (`die`): from then on it
 * reaches nothing, as a SIGKILLed gateway, and what it held stays as it left it.
 */
function mortal(register: UnitOfWork<RegisterTx>): UnitOfWork<RegisterTx> & { die(): void } {
  let dead = false;
  const gone = () => Promise.reject(new Error('this gateway is dead'));
  return {
    engine: register.engine,
    write: (run, options) => (dead ? gone() : register.write(run, options)),
    writeAlone: (run) => (dead ? gone() : register.writeAlone(run)),
    read: (run) => (dead ? gone() : register.read(run)),
    ping: () => (dead ? gone() : register.ping()),
    close: async () => {},
    die: () => (dead = true),
  };
}

let server: PostgresServer;

describe.skipIf(POSTGRES_SKIP_REASON)(`the outbox of gateways sharing a PostgreSQL register${POSTGRES_SKIP_REASON ? ` (skipped: ${POSTGRES_SKIP_REASON})` : ''}`, () => {
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(() => server?.stop());

  /** Two gateways' registers on one fresh database, and `count` email deliveries queued there. */
  async function twoGateways(count: number) {
    const url = await server.createDatabase();
    const [first, second] = [await temporaryPostgresRegister(url), await temporaryPostgresRegister(url)];
    const { deliveries } = await first.write((tx) => registerLetter(tx, 1, { targets: Array.from({ length: count }, () => 'email') }));
    return { first, second, ids: deliveries.map((delivery) => delivery.id) };
  }

  const workers: OutboxWorker[] = [];
  function worker({ database, holder, adapter, now, concurrency = config.concurrency }: { database: UnitOfWork<RegisterTx>; holder: string; adapter: ChannelAdapter; now: () => Date; concurrency?: number }) {
    const created = createOutboxWorker({
      database,
      adapters: new Map([['email', adapter]]),
      composer: composerOver(database),
      config: { ...config, concurrency },
      now,
      logger: pino({ level: 'silent' }),
      holder,
    });
    workers.push(created);
    return created;
  }
  afterEach(async () => {
    // Before the registers close. A dead gateway's worker cannot give anything back: its stop fails, as it would have.
    await Promise.allSettled(workers.splice(0).map((created) => created.stop(0)));
  });

  let relay: MailSink;
  beforeAll(async () => {
    relay = await startMailSink();
  });
  afterAll(() => relay?.stop());
  const senders: { close(): Promise<void> | undefined }[] = [];
  afterEach(async () => {
    await Promise.all(senders.splice(0).map((sender) => sender.close()));
    relay.messages.length = 0;
  });

  /**
   * A gateway's email channel: the email adapter's sender, through the relay. A `held` send, once
   * the relay has the message, waits for `letGo` before the channel answers (a gateway that dies
   * then has sent the message but recorded nothing).
   */
  function emailChannel(gateway: string, sent: Sent[], { held = false } = {}) {
    let letGo!: () => void;
    const released = new Promise<void>((resolve) => (letGo = resolve));
    const sender = createMailSender({
      config: { url: relay.url, maxConnections: 1, timeoutMs: 10_000, verifyCertificate: false },
      identity: { domain: DOMAIN, fromLocalPart: 'courrier', officeName: 'Bureau' },
      port: { keepInMailbox: () => Promise.reject(new Error('mail goes to the relay here')) },
      verp: createVerp({ tokens: adapterTokens(SECRET, 'verp'), domain: DOMAIN }),
    });
    senders.push(sender);
    const adapter: ChannelAdapter = {
      name: 'email',
      start: async () => {},
      stop: async () => {},
      async send(message: OutboundMessage) {
        const result = await sender.send(message);
        sent.push({ gateway, deliveryId: message.deliveryId, messageId: result.externalId });
        if (held) await released;
        return result;
      },
    };
    return { adapter, letGo };
  }

  /**
   * `count` deliveries queued, and a gateway (`holder`) that dies once the relay has them all, before
   * it records anything; `second` is the register of another gateway on the same database.
   */
  async function diesSending({ count, holder, gateway }: { count: number; holder: string; gateway: string }) {
    const { first, second, ids } = await twoGateways(count);
    const clock = handClock();
    const sent: Sent[] = [];
    const registerOfDying = mortal(first);
    await worker({ database: registerOfDying, holder, adapter: emailChannel(gateway, sent, { held: true }).adapter, now: clock.now }).start();
    await waitFor(() => sent.length === count, { what: `${gateway} sending every delivery` });
    registerOfDying.die();
    return { second, ids, clock, sent };
  }

  const rowOf = (database: UnitOfWork<RegisterTx>, id: number) => database.read((tx) => outbox.deliveryById(tx, id));

  it('never lets two gateways claiming at once take the same delivery', async () => {
    const { first, second, ids } = await twoGateways(4);
    // Gateway A's claim is made and its transaction still open: its rows are locked.
    let commitA!: () => void;
    const open = new Promise<void>((resolve) => (commitA = resolve));
    let claimedByA!: (rows: number[]) => void;
    const madeByA = new Promise<number[]>((resolve) => (claimedByA = resolve));
    const claimA = first.write(async (tx) => {
      claimedByA((await outbox.claimDue(tx, { at: REGISTERED_AT, limit: 2, pool: { channel: 'email' }, holder: 'gateway-a', leaseUntil: new Date(REGISTERED_AT.getTime() + LEASE_MS) })).map((row) => row.id));
      await open;
    });
    expect(await madeByA).toEqual(ids.slice(0, 2));
    // Gateway B claims meanwhile. The gateways' batches take the register's write lock and never
    // overlap; a claim in a transaction of its own (writeAlone) does, and passes over A's locked rows
    // rather than waiting for them.
    const claimedByB = await second.writeAlone((tx) => outbox.claimDue(tx, { at: REGISTERED_AT, limit: 4, pool: { channel: 'email' }, holder: 'gateway-b', leaseUntil: new Date(REGISTERED_AT.getTime() + LEASE_MS) }));
    expect(claimedByB.map((row) => row.id)).toEqual(ids.slice(2));
    commitA();
    await claimA;
  });

  it('sends each delivery once when two gateways work one queue', async () => {
    const { first, second, ids } = await twoGateways(60);
    const clock = handClock();
    const sent: Sent[] = [];
    const a = worker({ database: first, holder: 'gateway-a', adapter: emailChannel('gateway-a', sent).adapter, now: clock.now });
    const b = worker({ database: second, holder: 'gateway-b', adapter: emailChannel('gateway-b', sent).adapter, now: clock.now });
    await Promise.all([a.start(), b.start()]);
    await Promise.all([a.idle(), b.idle()]);
    await waitFor(async () => (await first.read((tx) => outbox.listDeliveries(tx, { statuses: ['sent'], limit: 100 }))).length === ids.length, { what: 'every delivery sent' });
    expect(sent.map((send) => send.deliveryId).sort((x, y) => x - y)).toEqual(ids);
    expect(relay.messages).toHaveLength(ids.length);
    expect(new Set(relay.messages.map((message) => message.parsed.messageId)).size).toBe(ids.length);
  });

  it('leaves the sends of a gateway that died to another once their lease has run out, not before, each with its Message-ID', async () => {
    const { second, ids, clock, sent } = await diesSending({ count: 2, holder: 'gateway-a', gateway: 'gateway-a' });
    const claimedAt = clock.at();

    // Its lease runs to the millisecond: a gateway starting then finds them still held.
    clock.move(LEASE_MS);
    const b = worker({ database: second, holder: 'gateway-b', adapter: emailChannel('gateway-b', sent).adapter, now: clock.now });
    await b.start();
    await b.idle();
    for (const id of ids) expect(await rowOf(second, id)).toMatchObject({ status: 'sending', claimedBy: 'gateway-a', leaseUntil: new Date(claimedAt + LEASE_MS) });
    expect(sent.filter((send) => send.gateway === 'gateway-b')).toEqual([]);

    // A moment later the lease has run out: gateway B, looking at leases as it does every third of one, sends them.
    clock.move(1);
    await waitFor(async () => (await Promise.all(ids.map((id) => rowOf(second, id)))).every((row) => row?.status === 'sent'), { what: 'gateway B sending them' });
    const byGateway = (gateway: string) => sent.filter((send) => send.gateway === gateway).sort((x, y) => x.deliveryId - y.deliveryId);
    expect(byGateway('gateway-b')).toEqual(byGateway('gateway-a').map((send) => ({ ...send, gateway: 'gateway-b' })));
    // The department got each message twice, as the same message: one Message-ID per delivery, whoever sent it.
    const received = relay.messages.map((message) => message.parsed.messageId).sort();
    const messageIds = byGateway('gateway-a').map((send) => send.messageId).sort();
    expect(new Set(messageIds).size).toBe(2);
    expect(received).toEqual(messageIds.flatMap((messageId) => [messageId, messageId]));
    for (const id of ids) expect(await rowOf(second, id)).toMatchObject({ attempts: 2, claimedBy: null });
  });

  it('sends again at once, without waiting for the lease, what an earlier run under the same name was sending', async () => {
    const { second, ids, clock, sent } = await diesSending({ count: 1, holder: 'sole-gateway', gateway: 'first run' });

    const nextRun = worker({ database: second, holder: 'sole-gateway', adapter: emailChannel('next run', sent).adapter, now: clock.now });
    await nextRun.start();
    await waitFor(async () => (await rowOf(second, ids[0]!))?.status === 'sent', { what: 'the next run sending it' });
    expect(sent.map((send) => send.gateway)).toEqual(['first run', 'next run']);
    expect(new Set(relay.messages.map((message) => message.parsed.messageId)).size).toBe(1);
  });

  it('never lets another gateway take the sends of one that lives and renews their lease, however long they last', async () => {
    const { first, second, ids } = await twoGateways(1);
    const clock = handClock();
    const sent: Sent[] = [];
    const slow = emailChannel('gateway-a', sent, { held: true });
    const a = worker({ database: first, holder: 'gateway-a', adapter: slow.adapter, now: clock.now });
    await a.start();
    await waitFor(() => sent.length === 1, { what: 'gateway A sending' });
    // Half a lease at a time, each step renewed before the next: three leases pass in all.
    for (let step = 0; step < 6; step++) {
      clock.move(LEASE_MS / 2);
      const renewedUntil = clock.at() + LEASE_MS;
      await waitFor(async () => (await rowOf(second, ids[0]!))?.leaseUntil?.getTime() === renewedUntil, { what: `gateway A renewing its lease (step ${step})` });
    }
    const b = worker({ database: second, holder: 'gateway-b', adapter: emailChannel('gateway-b', sent).adapter, now: clock.now });
    await b.start();
    await b.idle();
    expect(await rowOf(second, ids[0]!)).toMatchObject({ status: 'sending', claimedBy: 'gateway-a', attempts: 1 });
    expect(sent.map((send) => send.gateway)).toEqual(['gateway-a']);

    slow.letGo();
    await waitFor(async () => (await rowOf(second, ids[0]!))?.status === 'sent', { what: 'gateway A recording its send' });
    expect(sent.map((send) => send.gateway)).toEqual(['gateway-a']);
    expect(relay.messages).toHaveLength(1);
  });

  it('gives back, when a gateway stops, only its own sends: another gateway\'s stay with it', async () => {
    const { first, second, ids } = await twoGateways(2);
    const clock = handClock();
    const sent: Sent[] = [];
    const ofA = emailChannel('gateway-a', sent, { held: true });
    const ofB = emailChannel('gateway-b', sent, { held: true });
    const a = worker({ database: first, holder: 'gateway-a', adapter: ofA.adapter, now: clock.now, concurrency: 1 });
    await a.start();
    await waitFor(() => sent.length === 1, { what: 'gateway A sending one' });
    const b = worker({ database: second, holder: 'gateway-b', adapter: ofB.adapter, now: clock.now, concurrency: 1 });
    await b.start();
    await waitFor(() => sent.length === 2, { what: 'gateway B sending the other' });
    const [sentByA, sentByB] = sent.map((send) => send.deliveryId);

    // A stops without waiting for its send: it gives that one back, and B's stays B's.
    await a.stop(0);
    expect(await rowOf(second, sentByA!)).toMatchObject({ status: 'pending', claimedBy: null });
    expect(await rowOf(second, sentByB!)).toMatchObject({ status: 'sending', claimedBy: 'gateway-b' });

    // A's send ends after all: no longer A's to record. B sends it again, as the same message.
    ofA.letGo();
    ofB.letGo();
    await waitFor(async () => (await Promise.all(ids.map((id) => rowOf(second, id)))).every((row) => row?.status === 'sent'), { what: 'every delivery sent' });
    const copiesOfA = sent.filter((send) => send.deliveryId === sentByA);
    expect(copiesOfA.map((send) => send.gateway)).toEqual(['gateway-a', 'gateway-b']);
    expect(new Set(copiesOfA.map((send) => send.messageId)).size).toBe(1);
    expect(relay.messages.filter((message) => message.parsed.messageId === copiesOfA[0]!.messageId)).toHaveLength(2);
  });
});
