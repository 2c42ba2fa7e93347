import { eq, sql } from 'drizzle-orm';
import pg from 'pg';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresRegister, type PostgresRegister } from '../../src/db/postgres-register.js';
import type { RegisterTx } from '../../src/db/register-tx.js';
import { POSTGRES_MIGRATIONS_DIR } from '../../src/paths.js';
import { POSTGRES_SKIP_REASON, startPostgres, temporaryPostgresRegister, type PostgresServer } from '../helpers/postgres-server.js';

const shippedMigrations = (JSON.parse(readFileSync(join(POSTGRES_MIGRATIONS_DIR, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length;

let server: PostgresServer;

/** Queries the database from outside the register, as another gateway or an operator would. */
async function query<Row>(url: string, text: string): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows as Row[];
  } finally {
    await client.end();
  }
}

/** A counter row: the table every letter's number comes from. */
const count = (year: number, lastSequence = 1) => (tx: RegisterTx) =>
  tx.db.insert(tx.tables.counters).values({ year, direction: 'A', lastSequence }).returning();

/**
 * A write that stores its counter row, then keeps its transaction open until the test lets go:
 * `stored` resolves once the row is written (uncommitted), `done` once the write is answered.
 */
async function heldWrite(register: PostgresRegister, year: number) {
  let stored!: () => void;
  let letGo!: () => void;
  const written = new Promise<void>((resolve) => (stored = resolve));
  const released = new Promise<void>((resolve) => (letGo = resolve));
  const done = register.write(async (tx) => {
    await count(year)(tx);
    stored();
    await released;
  });
  await written;
  return { letGo, done };
}

describe.skipIf(POSTGRES_SKIP_REASON)(`the PostgreSQL register${POSTGRES_SKIP_REASON ? ` (skipped: ${POSTGRES_SKIP_REASON})` : ''}`, () => {
  beforeAll(async () => {
    server = await startPostgres();
  }, 60_000);
  afterAll(() => server?.stop());

  it('lets two gateways open the same empty database at once, and makes the schema once', async () => {
    const url = await server.createDatabase();
    const [first, second] = await Promise.all([temporaryPostgresRegister(url), temporaryPostgresRegister(url)]);
    // Each shipped migration applied once, not once per gateway.
    expect(await query(url, 'SELECT count(*)::int AS applied FROM drizzle.__drizzle_migrations')).toEqual([{ applied: shippedMigrations }]);
    await first.write(count(2026));
    expect(await second.read((tx) => tx.db.select().from(tx.tables.counters))).toEqual([{ year: 2026, direction: 'A', lastSequence: 1 }]);
  });

  it('commits the writes that come while a commit runs together, in one transaction', async () => {
    const url = await server.createDatabase();
    const batches: number[] = [];
    const register = await temporaryPostgresRegister(url, { onBatch: (size) => batches.push(size) });
    const first = await heldWrite(register, 2001);
    const during = [register.write(count(2002)), register.write(count(2003)), register.write(count(2004))];
    first.letGo();
    await Promise.all([first.done, ...during]);
    expect(batches).toEqual([1, 3]);
    const rows = await query<{ year: number; transaction: string }>(url, 'SELECT year, xmin::text AS transaction FROM counters ORDER BY year');
    expect(rows.map((row) => row.year)).toEqual([2001, 2002, 2003, 2004]);
    expect(new Set(rows.slice(1).map((row) => row.transaction)).size).toBe(1);
    expect(rows[0]!.transaction).not.toBe(rows[1]!.transaction);
  });

  it('lets two gateways take numbers from one counter row at once: each number once, none missing, in batches', async () => {
    const url = await server.createDatabase();
    const batches: number[] = [];
    const gateways = await Promise.all([temporaryPostgresRegister(url, { onBatch: (size) => batches.push(size) }), temporaryPostgresRegister(url, { onBatch: (size) => batches.push(size) })]);
    await gateways[0].write(count(2026, 0));
    // What a registration does first: take the next number, holding the row until the transaction ends.
    const takeNumber = (tx: RegisterTx) =>
      tx.db
        .update(tx.tables.counters)
        .set({ lastSequence: sql`${tx.tables.counters.lastSequence} + 1` })
        .where(eq(tx.tables.counters.year, 2026))
        .returning({ number: tx.tables.counters.lastSequence });
    const numbers = await Promise.all(Array.from({ length: 60 }, (_, index) => gateways[index % 2]!.write(takeNumber)));
    expect(numbers.map(([row]) => row!.number).sort((a, b) => a - b)).toEqual(Array.from({ length: 60 }, (_, index) => index + 1));
    // 60 writes plus the first; together in fewer transactions than writes.
    expect(batches.reduce((sum, size) => sum + size, 0)).toBe(61);
    expect(batches.length).toBeLessThan(61);
  });

  it('keeps the other writes of a batch when one throws, and stores nothing of that one', async () => {
    const url = await server.createDatabase();
    const register = await temporaryPostgresRegister(url);
    const writes = [
      register.write(count(2001)),
      register.write(async (tx) => {
        await count(2002)(tx);
        throw new Error('refused half way');
      }),
      register.write(count(2003)),
    ];
    const [before, failing, after] = await Promise.allSettled(writes);
    expect(failing).toMatchObject({ status: 'rejected', reason: { message: 'refused half way' } });
    expect([before!.status, after!.status]).toEqual(['fulfilled', 'fulfilled']);
    const years = await register.read((tx) => tx.db.select({ year: tx.tables.counters.year }).from(tx.tables.counters).orderBy(tx.tables.counters.year));
    expect(years).toEqual([{ year: 2001 }, { year: 2003 }]);
  });

  it('fails only the write that breaks a unique key, with the server\'s error', async () => {
    const url = await server.createDatabase();
    const register = await temporaryPostgresRegister(url);
    await register.write(count(2026));
    const [duplicate, other] = await Promise.allSettled([register.write(count(2026, 7)), register.write(count(2027))]);
    expect(duplicate).toMatchObject({ status: 'rejected', reason: { cause: { code: '23505' } } });
    expect(other.status).toBe('fulfilled');
    expect(await register.read((tx) => tx.db.select().from(tx.tables.counters).orderBy(tx.tables.counters.year))).toEqual([
      { year: 2026, direction: 'A', lastSequence: 1 },
      { year: 2027, direction: 'A', lastSequence: 1 },
    ]);
  });

  it('never lets a read see a batch that is not committed', async () => {
    const url = await server.createDatabase();
    const register = await temporaryPostgresRegister(url);
    const write = await heldWrite(register, 2026);
    expect(await register.read((tx) => tx.db.select().from(tx.tables.counters))).toEqual([]);
    write.letGo();
    await write.done;
    expect(await register.read((tx) => tx.db.select().from(tx.tables.counters))).toHaveLength(1);
  });

  it('reads back a 64-bit id as a number, text with U+0000 and bytes exactly', async () => {
    const url = await server.createDatabase();
    const register = await temporaryPostgresRegister(url);
    const raw = Buffer.from([0, 1, 2, 0xff, 0, 0x5c, 0x27]);
    const row = {
      id: 2 ** 40 + 1,
      deliveryId: 2 ** 33,
      envelopeFrom: 'sender@example.test',
      recipients: 'a\u0000b, \uE000',
      subject: 'موضوع\u0000',
      raw,
      storedAt: new Date('2026-12-05T10:11:12.345Z'),
    };
    await register.write((tx) => tx.db.insert(tx.tables.mailboxMessages).values(row));
    const [stored] = await register.read((tx) => tx.db.select().from(tx.tables.mailboxMessages).where(eq(tx.tables.mailboxMessages.id, row.id)));
    expect(stored).toEqual(row);
    expect(typeof stored!.id).toBe('number');
    // Numbered by the database: a number too.
    const [numbered] = await register.write((tx) => tx.db.insert(tx.tables.mailboxMessages).values({ ...row, id: undefined }).returning());
    expect(typeof numbered!.id).toBe('number');
  });

  it('refuses a write once closed, rather than connecting again', async () => {
    const url = await server.createDatabase();
    const register = await openPostgresRegister({ url });
    await register.write(count(2026));
    await register.close();
    await expect(register.write(count(2027))).rejects.toThrow('the register is closed');
    expect(await query(url, "SELECT count(*)::int AS connections FROM pg_stat_activity WHERE application_name = 'wasl' AND datname = current_database()")).toEqual([{ connections: 0 }]);
  });

  it('fails a ping, a write and a read within their timeouts while the server answers nothing at all, and recovers by itself', async () => {
    const url = await server.createDatabase();
    const register = await temporaryPostgresRegister(url, { connectTimeoutMs: 500, statementTimeoutMs: 500, pingTimeoutMs: 500 });
    await register.write(count(2025));
    await register.ping();

    const frozen = await server.freeze();
    try {
      await expect(register.ping()).rejects.toThrow('the PostgreSQL register did not answer within 500 ms');
      await expect(register.write(count(2026))).rejects.toThrow();
      await expect(register.read((tx) => tx.db.select().from(tx.tables.counters))).rejects.toThrow();
    } finally {
      frozen.thaw();
    }

    await register.ping();
    await register.write(count(2027));
    const years = await register.read((tx) => tx.db.select({ year: tx.tables.counters.year }).from(tx.tables.counters).orderBy(tx.tables.counters.year));
    expect(years).toEqual([{ year: 2025 }, { year: 2027 }]);
  });

  // Last: it stops the file's server.
  it('answers a ping and a write with an error while the server is down, and recovers by itself when it is back', async () => {
    const url = await server.createDatabase();
    const register = await temporaryPostgresRegister(url, { connectTimeoutMs: 1000, pingTimeoutMs: 1000 });
    await register.write(count(2025));
    await register.ping();

    await server.halt();
    await expect(register.ping()).rejects.toThrow();
    await expect(register.write(count(2026))).rejects.toThrow();
    await expect(register.read((tx) => tx.db.select().from(tx.tables.counters))).rejects.toThrow();

    await server.start();
    await register.ping();
    await register.write(count(2027));
    const years = await register.read((tx) => tx.db.select({ year: tx.tables.counters.year }).from(tx.tables.counters).orderBy(tx.tables.counters.year));
    expect(years).toEqual([{ year: 2025 }, { year: 2027 }]);
  });
});
