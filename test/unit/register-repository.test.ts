/**
 * Every query the core makes, against each engine the register runs on: the same tests, so an
 * engine added here (PostgreSQL) must answer them all as SQLite does. Engine setup stays in
 * `engines`.
 */
import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { RegisterTx } from '../../src/db/register-tx.js';
import type { UnitOfWork } from '../../src/db/unit-of-work.js';
import * as letters from '../../src/letters/letters.repository.js';
import { newDelivery } from '../../src/letters/letters.usecases.js';
import { keepMessage, listMessages, messageById } from '../../src/mailbox/mailbox.repository.js';
import { recordBounces } from '../../src/outbox/bounces.js';
import * as outbox from '../../src/outbox/outbox.repository.js';
import { createReceiptAllowance } from '../../src/receipts/receipt-allowance.js';
import { verifyRegister } from '../../src/receipts/register-verify.js';
import { registerEngines } from '../helpers/register-engines.js';
import { letterRow, REGISTERED_AT, registerLetter } from '../helpers/register-rows.js';

/** Each engine's register, fresh for each test. */
const { engines } = registerEngines();

const at = REGISTERED_AT;
const later = (minutes: number) => new Date(at.getTime() + minutes * 60_000);
/** A gateway process claiming deliveries, its lease running `minutes` from `at`. */
const gatewayA = (minutes = 10) => ({ holder: 'gateway-a', leaseUntil: later(minutes) });
const gatewayB = (minutes = 10) => ({ holder: 'gateway-b', leaseUntil: later(minutes) });

/** Claims the oldest due delivery of `channel` for gateway A and marks it sent, as a worker does. */
async function sendOne(database: UnitOfWork<RegisterTx>, { channel = 'email', externalId, when = at }: { channel?: string; externalId: string; when?: Date }) {
  return database.write(async (tx) => {
    const [claimed] = await outbox.claimDue(tx, { at: when, limit: 1, pool: { channel }, ...gatewayA() });
    await outbox.markSent(tx, { holder: 'gateway-a', sends: [{ id: claimed!.id, externalId, at: when }] });
    return claimed!.id;
  });
}

describe.each(engines)('the register on $name', ({ open }) => {
  it('hands out numbers per year and direction without a gap, even when a registering transaction fails', async () => {
    const database = await open();
    const take = (year: number, direction: 'A' | 'D') => database.write((tx) => letters.takeSequences(tx, { year, direction, count: 1 }));
    expect([await take(2026, 'A'), await take(2026, 'A'), await take(2026, 'D'), await take(2027, 'A')]).toEqual([1, 2, 1, 1]);
    await expect(
      database.write(async (tx) => {
        await letters.takeSequences(tx, { year: 2026, direction: 'A', count: 1 });
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(await take(2026, 'A')).toBe(3);
  });

  it('registers a letter and records its events in one transaction: all of it or nothing', async () => {
    const database = await open();
    await expect(
      database.write(async (tx) => {
        await registerLetter(tx, 1);
        await letters.appendEvent(tx, { letterId: 1, type: 'forwarded', at });
        throw new Error('refused');
      }),
    ).rejects.toThrow('refused');
    expect(await database.read((tx) => letters.letterByNumber(tx, '2026-A-000001'))).toBeUndefined();

    const { letter } = await database.write(async (tx) => {
      const registered = await registerLetter(tx, 1);
      await letters.appendEvent(tx, { letterId: registered.letter.id, type: 'forwarded', at: later(1), actor: { channel: 'slack', id: 'U1', displayName: 'Karim' }, detail: { to: 'URB' } });
      return registered;
    });
    const events = await database.read((tx) => letters.eventsOf(tx, letter.id));
    expect(events.map((event) => [event.type, event.actorId, event.detail])).toEqual([
      ['registered', null, null],
      ['forwarded', 'U1', JSON.stringify({ to: 'URB' })],
    ]);
  });

  it('takes several numbers at once, contiguous, after those taken one by one', async () => {
    const database = await open();
    const take = (count: number) => database.write((tx) => letters.takeSequences(tx, { year: 2026, direction: 'A', count }));
    expect([await take(1), await take(3), await take(1)]).toEqual([1, 4, 5]);
  });

  it('writes the letters that come together in one go, each row keeping its own id and order', async () => {
    const database = await open();
    const sequences = Array.from({ length: 130 }, (_, index) => index + 1);
    const { rows, deliveries } = await database.write(async (tx) => {
      const rows = await letters.insertLetters(tx, sequences.map((sequence) => letterRow(sequence)));
      await letters.insertDepartmentRows(tx, rows.map((row) => ({ letterId: row.id, departmentCode: row.sequence % 2 === 0 ? 'RH' : 'URB' })));
      await letters.appendEvents(tx, rows.flatMap((row) => [{ letterId: row.id, type: 'registered', at }, { letterId: row.id, type: 'forwarded', at, detail: { n: row.sequence } }]));
      // Two deliveries alike in all but their department, and two alike in everything.
      const deliveries = await letters.insertDeliveries(
        tx,
        rows.flatMap((row) => [
          newDelivery({ letterId: row.id, kind: 'forward', target: { channel: 'email', id: 'shared@example.org' }, departmentCode: 'RH', at }),
          newDelivery({ letterId: row.id, kind: 'forward', target: { channel: 'email', id: 'shared@example.org' }, departmentCode: 'URB', at }),
          newDelivery({ letterId: row.id, kind: 'receipt', target: { channel: 'email', id: row.senderId }, at }),
          newDelivery({ letterId: row.id, kind: 'receipt', target: { channel: 'email', id: row.senderId }, at }),
        ]),
      );
      await letters.storeBlobs(tx, rows.map((row) => ({ sha256: `blob-${row.sequence % 7}`, content: new Uint8Array([row.sequence % 7]) })));
      return { rows, deliveries };
    });

    await database.read(async (tx) => {
      // Ids follow the order the letters were given in, as the chain needs.
      expect(rows.map((row) => row.id)).toEqual([...rows.map((row) => row.id)].sort((a, b) => a - b));
      for (const row of [rows[0]!, rows[64]!, rows[129]!]) {
        expect((await letters.letterById(tx, row.id))?.number).toBe(row.number);
        expect(await letters.departmentsOf(tx, row.id)).toEqual([row.sequence % 2 === 0 ? 'RH' : 'URB']);
        expect((await letters.eventsOf(tx, row.id)).map((event) => [event.type, event.detail])).toEqual([
          ['registered', null],
          ['forwarded', JSON.stringify({ n: row.sequence })],
        ]);
        const stored = await letters.deliveriesOf(tx, row.id);
        const given = deliveries.filter((delivery) => delivery.letterId === row.id);
        expect(given.map((delivery) => [delivery.id, delivery.kind, delivery.departmentCode])).toEqual(stored.map((delivery) => [delivery.id, delivery.kind, delivery.departmentCode]));
      }
      expect(new Set(deliveries.map((delivery) => delivery.id)).size).toBe(deliveries.length);
      expect([...(await letters.readBlob(tx, 'blob-3'))!]).toEqual([3]);
      const found = await letters.lettersByChannelMessages(tx, [
        { channel: 'email', senderId: 'amina@example.org', externalId: '<m129@example.org>' },
        { channel: 'email', senderId: 'amina@example.org', externalId: '<m2@example.org>' },
        { channel: 'email', senderId: 'someone@example.org', externalId: '<m3@example.org>' },
        { channel: 'email', senderId: 'amina@example.org', externalId: '<m2@example.org>' },
      ]);
      expect(found.map((row) => row.number)).toEqual(['2026-A-000002', '2026-A-000129']);
    });
  });

  it('keeps the chain head: the entry hash of the newest letter', async () => {
    const database = await open();
    expect(await database.read((tx) => letters.lastEntryHash(tx))).toBeNull();
    await database.write(async (tx) => [await registerLetter(tx, 1), await registerLetter(tx, 2)]);
    expect(await database.read((tx) => letters.lastEntryHash(tx))).toBe('hash-2');
  });

  it('claims a channel event once', async () => {
    const database = await open();
    const claim = () => database.write((tx) => letters.claimEvent(tx, { channel: 'slack', eventId: 'press-1' }));
    expect(await claim()).toBe(true);
    expect(await claim()).toBe(false);
  });

  it('finds and lists letters, their departments, attachments, contents and answers', async () => {
    const database = await open();
    const first = await database.write(async (tx) => {
      const registered = await registerLetter(tx, 1);
      await letters.insertDepartments(tx, { letterId: registered.letter.id, codes: ['RH'], via: 'transfer' });
      await letters.storeBlobs(tx, [{ sha256: 'blob-1', content: new Uint8Array([1, 2, 3]) }]);
      await letters.storeBlobs(tx, [{ sha256: 'blob-1', content: new Uint8Array([1, 2, 3]) }]);
      await letters.insertAttachments(tx, [{ letterId: registered.letter.id, position: 0, sha256: 'blob-1', filename: 'plan.pdf', contentType: 'application/pdf', size: 3 }]);
      return registered.letter;
    });
    const answer = await database.write(async (tx) => (await letters.insertLetters(tx, [letterRow(2, { direction: 'D', number: '2026-D-000001', answersLetterId: first.id, status: 'sent' })]))[0]!);
    await database.write(async (tx) => (await registerLetter(tx, 3, { department: 'RH' })).letter);

    await database.read(async (tx) => {
      expect((await letters.letterById(tx, first.id))?.number).toBe('2026-A-000001');
      expect((await letters.letterByNumber(tx, '2026-A-000001'))?.id).toBe(first.id);
      expect((await letters.letterByReceiptToken(tx, 'token-1'))?.id).toBe(first.id);
      expect((await letters.lettersByChannelMessage(tx, { channel: 'email', senderId: 'amina@example.org', externalId: '<m1@example.org>' })).map((row) => row.id)).toEqual([first.id]);
      expect(await letters.departmentsOf(tx, first.id)).toEqual(['RH', 'URB']);
      expect(await letters.departmentsOf(tx, first.id, { registeredOnly: true })).toEqual(['URB']);
      expect((await letters.attachmentsOf(tx, first.id)).map((row) => row.filename)).toEqual(['plan.pdf']);
      expect([...(await letters.readBlob(tx, 'blob-1'))!]).toEqual([1, 2, 3]);
      expect(await letters.readBlob(tx, 'blob-2')).toBeUndefined();
      expect((await letters.answersTo(tx, first.id)).map((row) => row.id)).toEqual([answer.id]);
      expect((await letters.listLetterRows(tx, { limit: 10 })).map((row) => row.sequence)).toEqual([3, 2, 1]);
      expect((await letters.listLetterRows(tx, { limit: 1 })).map((row) => row.sequence)).toEqual([3]);
      expect((await letters.listLetterRows(tx, { department: 'RH', limit: 10 })).map((row) => row.sequence)).toEqual([3, 1]);
      expect((await letters.listLetterRows(tx, { statuses: ['registered'], limit: 10 })).map((row) => row.sequence)).toEqual([3, 1]);
    });

    await database.write((tx) => letters.setStatus(tx, { letterId: first.id, status: 'answered' }));
    await database.write((tx) => letters.setStatus(tx, { letterId: first.id, status: 'forwarded', onlyIf: 'registered' }));
    expect((await database.read((tx) => letters.letterById(tx, first.id)))?.status).toBe('answered');
  });

  it('moves deliveries through claim, send, retry and failure, each pool of channels claiming its own', async () => {
    const database = await open();
    const { deliveries } = await database.write((tx) => registerLetter(tx, 1, { targets: ['email', 'slack', 'matrix'] }));
    const [email, slack, matrix] = deliveries.map((delivery) => delivery.id);

    const claimed = await database.write(async (tx) => [
      await outbox.claimDue(tx, { at, limit: 10, pool: { channel: 'slack' }, ...gatewayA() }),
      await outbox.claimDue(tx, { at, limit: 10, pool: { outside: ['slack'] }, ...gatewayA() }),
      await outbox.claimDue(tx, { at, limit: 10, pool: { outside: [] }, ...gatewayA() }),
    ]);
    expect(claimed.map((rows) => rows.map((row) => [row.id, row.status, row.attempts]))).toEqual([
      [[slack, 'sending', 1]],
      [
        [email, 'sending', 1],
        [matrix, 'sending', 1],
      ],
      [],
    ]);

    await database.write(async (tx) => {
      await outbox.markSent(tx, { holder: 'gateway-a', sends: [{ id: email!, externalId: '<f1@gateway>', at }] });
      await outbox.markRetry(tx, { id: slack!, holder: 'gateway-a', at, nextAttemptAt: later(5), errorCode: 'slack.down', error: 'down' });
      await outbox.markFailed(tx, { id: matrix!, holder: 'gateway-a', at, errorCode: 'matrix.refused', error: 'refused' });
    });
    await database.read(async (tx) => {
      expect((await outbox.deliveryByExternalId(tx, { channel: 'email', externalId: '<f1@gateway>' }))?.id).toBe(email);
      expect(await outbox.deliveryById(tx, slack!)).toMatchObject({ status: 'pending', lastErrorCode: 'slack.down', nextAttemptAt: later(5) });
      expect(await outbox.nextDueAt(tx)).toEqual(later(5));
      expect(await outbox.nextDueAt(tx, { after: later(5) })).toBeUndefined();
      expect((await outbox.listDeliveries(tx, { statuses: ['failed'], limit: 10 })).map((row) => [row.id, row.number])).toEqual([[matrix, '2026-A-000001']]);
      expect((await letters.deliveriesOf(tx, 1)).map((row) => row.status)).toEqual(['sent', 'pending', 'failed']);
    });
    expect(await database.write((tx) => outbox.claimDue(tx, { at: later(1), limit: 10, pool: { channel: 'slack' }, ...gatewayA() }))).toEqual([]);

    // Claimed, then given back unsent by a stopping worker: the attempt it did not make is not counted.
    const [again] = await database.write((tx) => outbox.claimDue(tx, { at: later(5), limit: 10, pool: { channel: 'slack' }, ...gatewayA(15) }));
    expect(again).toMatchObject({ id: slack, attempts: 2, claimedBy: 'gateway-a', leaseUntil: later(15) });
    await database.write((tx) => outbox.releaseClaims(tx, { ids: [slack!], holder: 'gateway-a', at: later(5) }));
    expect(await database.read((tx) => outbox.deliveryById(tx, slack!))).toMatchObject({ status: 'pending', attempts: 1, claimedBy: null, leaseUntil: null });

    expect(await database.write((tx) => outbox.requeueFailed(tx, { ids: [matrix!], at: later(7) }))).toBe(1);
    expect(await database.read((tx) => outbox.deliveryById(tx, matrix!))).toMatchObject({ status: 'pending', attempts: 0, nextAttemptAt: later(7) });
    expect(await database.write((tx) => outbox.requeueFailed(tx, { at: later(7) }))).toBe(0);
  });

  it('fails on a bounce only what the relay had taken, and says so in the letter history', async () => {
    const database = await open();
    const { letter, deliveries } = await database.write((tx) => registerLetter(tx, 1, { targets: ['email', 'email'] }));
    const [sent, pending] = deliveries.map((delivery) => delivery.id);
    expect(await sendOne(database, { externalId: '<f1@gateway>' })).toBe(sent);
    const marked = await database.write((tx) => recordBounces(tx, { deliveryIds: [sent!, pending!, 999], reason: 'mailbox unknown', at: later(1) }));
    expect(marked).toEqual([{ deliveryId: sent, number: '2026-A-000001', channel: 'email', kind: 'forward' }]);
    await database.read(async (tx) => {
      expect(await outbox.deliveryById(tx, sent!)).toMatchObject({ status: 'failed', lastErrorCode: 'delivery.bounced' });
      expect((await outbox.deliveryById(tx, pending!))?.status).toBe('pending');
      expect((await letters.eventsOf(tx, letter.id)).map((event) => event.type)).toEqual(['registered', 'delivery_failed']);
    });
  });

  it('lets only the gateway holding a claim renew its lease and mark what came of the send', async () => {
    const database = await open();
    const { deliveries } = await database.write((tx) => registerLetter(tx, 1, { targets: ['email', 'email'] }));
    const [first, second] = deliveries.map((delivery) => delivery.id);
    const [heldByA, heldByB] = await database.write(async (tx) => [
      await outbox.claimDue(tx, { at, limit: 1, pool: { channel: 'email' }, ...gatewayA(1) }),
      await outbox.claimDue(tx, { at, limit: 1, pool: { channel: 'email' }, ...gatewayB(1) }),
    ]);
    expect([heldByA!.map((row) => row.id), heldByB!.map((row) => row.id)]).toEqual([[first], [second]]);

    // One statement for all of a gateway's sends; another's are left as they are.
    expect(await database.write((tx) => outbox.renewLeases(tx, { ids: [first!, second!], holder: 'gateway-a', leaseUntil: later(2) }))).toEqual([first]);
    await database.read(async (tx) => {
      expect(await outbox.deliveryById(tx, first!)).toMatchObject({ claimedBy: 'gateway-a', leaseUntil: later(2) });
      expect(await outbox.deliveryById(tx, second!)).toMatchObject({ claimedBy: 'gateway-b', leaseUntil: later(1) });
    });

    const marks = await database.write(async (tx) => [
      (await outbox.markSent(tx, { holder: 'gateway-a', sends: [{ id: second!, externalId: '<wrong@gateway>', at }] })).length === 1,
      await outbox.markRetry(tx, { id: second!, holder: 'gateway-a', at, nextAttemptAt: later(5), errorCode: 'x', error: 'x' }),
      await outbox.markFailed(tx, { id: second!, holder: 'gateway-a', at, errorCode: 'x', error: 'x' }),
      (await outbox.markSent(tx, { holder: 'gateway-b', sends: [{ id: second!, externalId: '<f2@gateway>', at }] })).length === 1,
    ]);
    expect(marks).toEqual([false, false, false, true]);
    expect(await database.read((tx) => outbox.deliveryById(tx, second!))).toMatchObject({ status: 'sent', externalId: '<f2@gateway>', claimedBy: null, leaseUntil: null });
    // Sent: no lease left to renew.
    expect(await database.write((tx) => outbox.renewLeases(tx, { ids: [second!], holder: 'gateway-b', leaseUntil: later(3) }))).toEqual([]);
  });

  it('queues again the claims whose lease ran out, whoever held them, and those an older version left without a lease', async () => {
    const database = await open();
    const { letter, deliveries } = await database.write((tx) => registerLetter(tx, 1, { targets: ['email', 'email'] }));
    const [ofA, ofB] = deliveries.map((delivery) => delivery.id);
    await database.write(async (tx) => {
      await outbox.claimDue(tx, { at, limit: 1, pool: { channel: 'email' }, ...gatewayA(1) });
      await outbox.claimDue(tx, { at, limit: 1, pool: { channel: 'email' }, ...gatewayB(3) });
    });
    // Written being sent by a version before leases (the columns came with the migration, empty).
    const [unleased] = await database.write((tx) =>
      letters.insertDeliveries(tx, [{ ...newDelivery({ letterId: letter.id, kind: 'receipt', target: { channel: 'email', id: 'amina@example.org' }, at }), status: 'sending', attempts: 1 }]),
    );

    expect(await database.write((tx) => outbox.requeueExpiredClaims(tx, later(1)))).toBe(1);
    expect(await database.read((tx) => outbox.deliveryById(tx, unleased!.id))).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: later(1) });
    expect((await database.read((tx) => outbox.deliveryById(tx, ofA!)))?.status).toBe('sending');

    expect(await database.write((tx) => outbox.requeueExpiredClaims(tx, later(2)))).toBe(1);
    await database.read(async (tx) => {
      expect(await outbox.deliveryById(tx, ofA!)).toMatchObject({ status: 'pending', attempts: 1, nextAttemptAt: later(2), claimedBy: null, leaseUntil: null });
      expect(await outbox.deliveryById(tx, ofB!)).toMatchObject({ status: 'sending', claimedBy: 'gateway-b' });
    });
    // Gateway A comes back to life: its send is no longer its own to record.
    expect(await database.write((tx) => outbox.markSent(tx, { holder: 'gateway-a', sends: [{ id: ofA!, externalId: '<late@gateway>', at: later(2) }] }))).toEqual([]);
    // And gateway B takes it over: the same delivery, its attempts counted on.
    const takenOver = await database.write((tx) => outbox.claimDue(tx, { at: later(2), limit: 10, pool: { channel: 'email' }, ...gatewayB(4) }));
    expect(takenOver.find((row) => row.id === ofA)).toMatchObject({ attempts: 2, claimedBy: 'gateway-b', leaseUntil: later(4) });
  });

  it('gives back, when a gateway stops, only the claims it holds', async () => {
    const database = await open();
    const { deliveries } = await database.write((tx) => registerLetter(tx, 1, { targets: ['email', 'email', 'slack'] }));
    const [firstOfA, ofB, secondOfA] = deliveries.map((delivery) => delivery.id);
    await database.write(async (tx) => {
      await outbox.claimDue(tx, { at, limit: 1, pool: { channel: 'email' }, ...gatewayA() });
      await outbox.claimDue(tx, { at, limit: 1, pool: { channel: 'email' }, ...gatewayB() });
      await outbox.claimDue(tx, { at, limit: 1, pool: { channel: 'slack' }, ...gatewayA() });
    });
    expect(await database.write((tx) => outbox.releaseHeldBy(tx, { holder: 'gateway-a', at: later(1) }))).toBe(2);
    await database.read(async (tx) => {
      for (const id of [firstOfA!, secondOfA!]) expect(await outbox.deliveryById(tx, id)).toMatchObject({ status: 'pending', nextAttemptAt: later(1), claimedBy: null });
      expect(await outbox.deliveryById(tx, ofB!)).toMatchObject({ status: 'sending', claimedBy: 'gateway-b' });
    });
    // Nor does a worker giving back what it claimed unsent touch another's.
    await database.write((tx) => outbox.releaseClaims(tx, { ids: [ofB!], holder: 'gateway-a', at: later(1) }));
    expect(await database.read((tx) => outbox.deliveryById(tx, ofB!))).toMatchObject({ status: 'sending', attempts: 1, claimedBy: 'gateway-b' });
  });

  it('marks several sends at once, each with its own Message-ID, and only those the gateway still holds', async () => {
    const database = await open();
    await database.write(async (tx) => [await registerLetter(tx, 1), await registerLetter(tx, 2), await registerLetter(tx, 3)]);
    const [mine, theirs] = await database.write(async (tx) => [
      await outbox.claimDue(tx, { at, limit: 2, pool: { channel: 'email' }, ...gatewayA() }),
      await outbox.claimDue(tx, { at, limit: 1, pool: { channel: 'email' }, ...gatewayB() }),
    ]);
    const sends = [...mine!, ...theirs!].map((delivery, index) => ({ id: delivery.id, externalId: `<s${index}@gateway>`, at: later(index + 1) }));
    const marked = await database.write((tx) => outbox.markSent(tx, { holder: 'gateway-a', sends }));
    expect(marked.sort((a, b) => a - b)).toEqual(mine!.map((delivery) => delivery.id));
    const rows = await database.read(async (tx) => {
      const found = [];
      for (const send of sends) found.push(await outbox.deliveryById(tx, send.id));
      return found;
    });
    expect(rows.map((row) => [row?.status, row?.externalId, row?.claimedBy])).toEqual([
      ['sent', '<s0@gateway>', null],
      ['sent', '<s1@gateway>', null],
      ['sending', null, 'gateway-b'],
    ]);
  });

  it('keeps messages in the built-in mailbox', async () => {
    const database = await open();
    const { deliveries } = await database.write((tx) => registerLetter(tx, 1));
    const deliveryId = deliveries[0]!.id;
    const message = { deliveryId, envelopeFrom: 'bounce@gateway', recipients: ['a@example.org', 'b@example.org'], subject: 'Reçu', raw: new TextEncoder().encode('raw') };
    const { id } = await database.write((tx) => keepMessage(tx, { message, at }));
    await database.read(async (tx) => {
      expect(await listMessages(tx, 10)).toEqual([{ id, deliveryId, envelopeFrom: 'bounce@gateway', recipients: 'a@example.org, b@example.org', subject: 'Reçu', storedAt: at }]);
      expect((await messageById(tx, id))?.raw.toString()).toBe('raw');
    });
  });

  it('counts the backlog by channel, with the time the oldest was queued', async () => {
    const database = await open();
    expect(await database.read((tx) => outbox.pendingByChannel(tx))).toEqual([]);
    await database.write((tx) => registerLetter(tx, 1, { targets: ['email', 'slack', 'email'] }));
    await database.write((tx) => registerLetter(tx, 2, { targets: ['email'] }));
    await sendOne(database, { externalId: '<f2@gateway>', when: later(1) });
    const backlog = await database.read((tx) => outbox.pendingByChannel(tx));
    expect(backlog.sort((left, right) => left.channel.localeCompare(right.channel))).toEqual([
      { channel: 'email', pending: 2, oldestQueuedAt: at },
      { channel: 'slack', pending: 1, oldestQueuedAt: at },
    ]);
  });

  it('keeps the receipt allowance of each place in the register', async () => {
    const database = await open();
    const cap = createReceiptAllowance({ perHour: 1 });
    const take = async (id: string, when: Date) => (await database.write((tx) => cap.take(tx, [{ place: { channel: 'email', id }, at: when }])))[0];
    expect([await take('amina@example.org', at), await take('amina@example.org', at), await take('karim@example.org', at)]).toEqual([true, false, true]);
    expect(await take('amina@example.org', later(60))).toBe(true);
    // Receipts asked for together are spent in order, each seeing the one before.
    const together = await database.write((tx) =>
      cap.take(tx, [
        { place: { channel: 'email', id: 'Nadia@example.org' }, at },
        { place: { channel: 'email', id: 'omar@example.org' }, at },
        { place: { channel: 'email', id: 'nadia+2@example.org' }, at },
      ]),
    );
    expect(together).toEqual([true, true, false]);
  });

  it('reads the whole register for a check of its chain: every entry, in order, and the counters', async () => {
    const database = await open();
    await database.write(async (tx) => {
      await letters.takeSequences(tx, { year: 2026, direction: 'A', count: 1 });
      await registerLetter(tx, 1);
    });
    const { publicKey } = generateKeyPairSync('ed25519');
    const report = await database.read((tx) => verifyRegister({ tx, publicKey }));
    // The rows here are made up: read all the same, and found not to be what their hashes seal.
    expect(report).toMatchObject({ ok: false, checked: 1 });
  });
});
