/**
 * The rate limits kept in the register (the gateways of one PostgreSQL register hold them
 * together), on each engine: the same burst and refill as the in-memory buckets, each kind apart,
 * a table that stays bounded; and on PostgreSQL, two registers on one database taking the last
 * tokens at once, and a server that does not answer.
 */
import { count } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { RateBuckets } from '../../src/channels/port.js';
import type { RegisterTx } from '../../src/db/register-tx.js';
import type { UnitOfWork } from '../../src/db/unit-of-work.js';
import { createRateLimits, registerRateLimits } from '../../src/limits/rate-limits.js';
import { POSTGRES_SKIP_REASON, temporaryPostgresRegister } from '../helpers/postgres-server.js';
import { registerEngines } from '../helpers/register-engines.js';
import { temporarySqliteRegister } from '../helpers/register-file.js';

const { engines, postgres } = registerEngines();

const START = Date.parse('2026-03-02T09:00:00Z');
const HOUR = 3_600_000;
const taken = { allowed: true, waitMs: 0 };

/** The register's limits of the email channel, on a clock the test moves. */
function limitsOn(database: UnitOfWork<RegisterTx>) {
  const clock = { at: START };
  const limits = registerRateLimits({ database, now: () => clock.at, channel: 'email' });
  return { clock, limits };
}

async function takeSeveral(buckets: RateBuckets, key: string, times: number) {
  const answers = [];
  for (let index = 0; index < times; index += 1) answers.push(await buckets.take(key));
  return answers;
}

const bucketRows = (database: UnitOfWork<RegisterTx>) =>
  database.read(async (tx) => (await tx.db.select({ rows: count() }).from(tx.tables.rateBuckets))[0]!.rows);

describe.each(engines)('rate limits in the $name register', ({ open }) => {
  it('let a burst of `limit` through, then one more per share of the window', async () => {
    const { clock, limits } = limitsOn(await open());
    const buckets = limits.buckets({ kind: 'letters-per-client', limit: 3, windowMs: 3000, trackedKeys: 100 });
    expect(await takeSeveral(buckets, 'a', 4)).toEqual([taken, taken, taken, { allowed: false, waitMs: 1000 }]);
    expect(await buckets.take('b')).toEqual(taken);
    clock.at += 1000;
    expect(await takeSeveral(buckets, 'a', 2)).toEqual([taken, { allowed: false, waitMs: 1000 }]);
    // Idle for longer than the window: a full burst again, never more.
    clock.at += 60_000;
    expect((await takeSeveral(buckets, 'a', 4)).map((answer) => answer.allowed)).toEqual([true, true, true, false]);
  });

  it('hold a limit whose window does not divide evenly: 7 an hour, then one each seventh of an hour', async () => {
    const { clock, limits } = limitsOn(await open());
    const buckets = limits.buckets({ kind: 'letters-per-sender', limit: 7, windowMs: HOUR, trackedKeys: 100 });
    const burst = await takeSeveral(buckets, 'amina@citizen.test', 8);
    expect(burst.map((answer) => answer.allowed)).toEqual([true, true, true, true, true, true, true, false]);
    expect(burst[7]!.waitMs).toBe(Math.ceil(HOUR / 7));
    clock.at += HOUR / 7;
    expect((await takeSeveral(buckets, 'amina@citizen.test', 2)).map((answer) => answer.allowed)).toEqual([true, false]);
  });

  it('keep each kind and each channel apart', async () => {
    const database = await open();
    const { limits } = limitsOn(database);
    const slack = registerRateLimits({ database, now: () => START, channel: 'slack' });
    const rate = { limit: 1, windowMs: HOUR, trackedKeys: 100 };
    const perClient = limits.buckets({ kind: 'letters-per-client', ...rate });
    expect(await perClient.take('127.0.0.2')).toEqual(taken);
    expect((await perClient.take('127.0.0.2')).allowed).toBe(false);
    expect(await limits.buckets({ kind: 'connections-per-client', ...rate }).take('127.0.0.2')).toEqual(taken);
    expect(await slack.buckets({ kind: 'letters-per-client', ...rate }).take('127.0.0.2')).toEqual(taken);
  });

  it('forget buckets that are full again, and keep at most trackedKeys of a kind however many keys come', async () => {
    const database = await open();
    const { clock, limits } = limitsOn(database);
    const perMinute = limits.buckets({ kind: 'connections-per-client', limit: 2, windowMs: 60_000, trackedKeys: 10 });
    for (let index = 0; index < 50; index += 1) await perMinute.take(`192.0.2.${index}`);
    expect(await bucketRows(database)).toBe(50);
    // A minute on, every one of them is full again: only the newcomer's bucket is left.
    clock.at += 60_000;
    await perMinute.take('198.51.100.1');
    expect(await bucketRows(database)).toBe(1);

    const perHour = limits.buckets({ kind: 'letters-per-sender', limit: 2, windowMs: HOUR, trackedKeys: 10 });
    for (let index = 0; index < 50; index += 1) await perHour.take(`sender${index}@spam.test`);
    clock.at += 60_000;
    await perHour.take('late@citizen.test');
    expect(await bucketRows(database)).toBeLessThanOrEqual(10);
    // The newest bucket is kept: its sender's allowance still counts what it took.
    expect((await takeSeveral(perHour, 'late@citizen.test', 2)).map((answer) => answer.allowed)).toEqual([true, false]);
  });
});

describe('the gateway', () => {
  it('keeps the limits in memory on SQLite, writing nothing to the register', async () => {
    const database = temporarySqliteRegister(async () => {});
    const limits = createRateLimits({ database, now: () => new Date(START), channel: 'email' });
    const buckets = limits.buckets({ kind: 'letters-per-client', limit: 2, windowMs: 60_000, trackedKeys: 100 });
    expect(await takeSeveral(buckets, 'a', 3)).toEqual([taken, taken, { allowed: false, waitMs: 30_000 }]);
    expect(await bucketRows(database)).toBe(0);
  });
});

describe.skipIf(POSTGRES_SKIP_REASON)('rate limits shared by gateways on one PostgreSQL register', () => {
  it('let exactly `limit` through when two gateways take the last tokens at once', async () => {
    const url = await postgres().createDatabase();
    const gateways = [await temporaryPostgresRegister(url), await temporaryPostgresRegister(url)];
    const rate = { kind: 'letters-per-sender', limit: 10, windowMs: HOUR, trackedKeys: 100 };
    const buckets = gateways.map((database) => limitsOn(database).limits.buckets(rate));
    const answers = await Promise.all(buckets.flatMap((each) => Array.from({ length: 25 }, () => each.take('loud@citizen.test'))));
    expect(answers.filter((answer) => answer.allowed)).toHaveLength(10);
    // Each gateway sees the other's takes: none has a token left.
    for (const each of buckets) expect((await each.take('loud@citizen.test')).allowed).toBe(false);
  });

  it("take outside the gateways' batches: neither waits for a batch its gateway holds open, nor leaves its row locked in one", async () => {
    const url = await postgres().createDatabase();
    const [first, second] = [await temporaryPostgresRegister(url), await temporaryPostgresRegister(url)];
    const rate = { kind: 'connections-per-client', limit: 5, windowMs: 60_000, trackedKeys: 100 };
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // A batch of the first gateway, its transaction open until the test lets it go (a letter waiting on the counter row would be one).
    const batch = first!.write(() => held);
    try {
      expect(await limitsOn(first!).limits.buckets(rate).take('127.0.0.2')).toEqual(taken);
      expect(await limitsOn(second!).limits.buckets(rate).take('127.0.0.2')).toEqual(taken);
    } finally {
      release();
      await batch;
    }
  });

  it('refuse to answer rather than let through while the server does not answer, and answer again once it does', async () => {
    const database = await temporaryPostgresRegister(await postgres().createDatabase());
    const limits = registerRateLimits({ database, now: () => START, channel: 'email', answerWithinMs: 300 });
    const buckets = limits.buckets({ kind: 'connections-per-client', limit: 5, windowMs: 60_000, trackedKeys: 100 });
    expect(await buckets.take('127.0.0.2')).toEqual(taken);
    const frozen = await postgres().freeze();
    try {
      await expect(buckets.take('127.0.0.2')).rejects.toThrow('the register did not answer the rate limit within 300 ms');
    } finally {
      frozen.thaw();
    }
    await postgres().halt();
    try {
      await expect(buckets.take('127.0.0.2')).rejects.toThrow();
    } finally {
      await postgres().start();
    }
    expect(await buckets.take('127.0.0.2')).toEqual(taken);
  });
});
