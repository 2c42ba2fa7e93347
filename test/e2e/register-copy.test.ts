/**
 * Moving an office's register whole: a register the gateway filled (letters with attachments,
 * events, transfers, deliveries, receipt allowances) is copied into an empty one, and the copy is
 * the same register: every row, the same hash chain, verified; and the staff with it.
 */
import { join } from 'node:path';
import { asc, eq, getTableColumns } from 'drizzle-orm';
import type { SQLiteTable } from 'drizzle-orm/sqlite-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { POSTGRES_SKIP_REASON, startPostgres, temporaryPostgresRegister } from '../helpers/postgres-server.js';
import { copyRegister } from '../../src/db/register-copy.js';
import type { RegisterTables, RegisterTx } from '../../src/db/register-tx.js';
import { openSqliteRegister, type SqliteRegister } from '../../src/db/sqlite-register.js';
import type { UnitOfWork } from '../../src/db/unit-of-work.js';
import { loadOrCreateSigningKey } from '../../src/evidence/signing-key.js';
import { identityOf } from '../../src/people/people.input.js';
import { addPerson, removePerson } from '../../src/people/people.repository.js';
import { verifyRegister } from '../../src/receipts/register-verify.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { keepUntilExit } from '../helpers/keep-alive.js';
import { temporarySqliteRegister } from '../helpers/register-file.js';
import { composeMessage } from '../helpers/messages.js';
import { sendLetter } from '../helpers/smtp-client.js';

/** Every row of every table, in key order: what two registers must share to be the same. */
async function everyRow(register: UnitOfWork<RegisterTx>): Promise<Record<string, unknown[]>> {
  return register.read(async (tx) => {
    const rows: Record<string, unknown[]> = {};
    for (const name of Object.keys(tx.tables) as (keyof RegisterTables)[]) {
      const table = tx.tables[name] as SQLiteTable;
      rows[name] = await tx.db.select().from(table).orderBy(...Object.values(getTableColumns(table)).map((column) => asc(column)));
    }
    return rows;
  });
}

describe('copying a register whole', () => {
  let test: TestGateway;
  let source: SqliteRegister;

  beforeAll(async () => {
    test = await startTestGateway();
    const withAttachment = await composeMessage({
      from: 'Nadia <nadia@citizen.test>',
      to: 'rh@wasl.local',
      subject: 'Attestation',
      text: 'Veuillez trouver ci-joint.',
      attachments: [{ filename: 'attestation.pdf', content: Buffer.from('%PDF-1.4 attestation') }],
    });
    const replies = [
      await sendLetter({ port: test.smtpPort, from: 'nadia@citizen.test', to: ['rh@wasl.local'], message: withAttachment }),
      await sendLetter({ port: test.smtpPort, from: 'omar@citizen.test', to: ['urbanisme@wasl.local'], message: 'From: omar@citizen.test\r\nSubject: Permis\r\nMessage-ID: <permis@citizen.test>\r\n\r\nDemande de permis.\r\n' }),
      await sendLetter({ port: test.smtpPort, from: 'lina@citizen.test', to: ['rh@wasl.local'], message: 'From: lina@citizen.test\r\nSubject: \u0637\u0644\u0628\r\nMessage-ID: <talab@citizen.test>\r\n\r\n\u0637\u0644\u0628 \u0634\u0647\u0627\u062f\u0629\r\n' }),
    ];
    const numbers = replies.map((reply) => /\d{4}-A-\d{6}/.exec(reply.data!.text)![0]);
    await test.gateway.port.recordAction({ number: numbers[1]!, action: 'transferred', actor: { channel: 'email', id: 'clerk@wasl.local' }, toDepartment: 'RH' });
    await test.gateway.outbox.idle();
    await test.stopGateway();
    source = openSqliteRegister({ file: join(test.dataDir, 'wasl.sqlite') });
    // Staff, one removed and their identity given to a successor: the copy keeps who was who.
    await source.write(async (tx) => {
      const at = new Date('2026-03-02T09:00:00Z');
      const desk = [identityOf('email', 'accueil@wasl.local'), identityOf('slack', 'U0DESK')];
      const leaving = await addPerson(tx, { handle: 'nadia', name: 'Nadia Benali', identities: desk, grants: [{ role: 'clerk', department: null }], at });
      await removePerson(tx, { personId: leaving.id, at: new Date('2026-06-30T17:00:00Z') });
      await addPerson(tx, { handle: 'karim', name: 'Karim Alaoui', identities: desk, grants: [{ role: 'head', department: 'RH' }, { role: 'admin', department: null }], at });
    });
  });

  afterAll(async () => {
    await source.close();
    await test.stop();
  });

  it('copies every row into an empty register, and the copy verifies with the same chain', async () => {
    const target = temporarySqliteRegister();
    const report = await copyRegister({ from: source, to: target });

    const rows = await everyRow(source);
    expect(rows['letters']).toHaveLength(3);
    expect(rows['attachments']).toHaveLength(1);
    expect(rows['people']).toHaveLength(2);
    expect(report).toEqual(Object.fromEntries(Object.entries(rows).map(([name, tableRows]) => [name, tableRows.length])));
    expect(await everyRow(target)).toEqual(rows);

    const { publicKey } = loadOrCreateSigningKey({ dataDir: test.dataDir });
    const original = await source.read((tx) => verifyRegister({ tx, publicKey }));
    const copy = await target.read((tx) => verifyRegister({ tx, publicKey }));
    expect(copy).toMatchObject({ ok: true, checked: 3, problems: [] });
    expect(copy).toEqual(original);
  });

  it.skipIf(POSTGRES_SKIP_REASON)('copies into an empty PostgreSQL register: the same rows, the same chain, and new ids go on from the copied ones', async () => {
    const postgres = await startPostgres();
    try {
      const target = await temporaryPostgresRegister(await postgres.createDatabase());
      await copyRegister({ from: source, to: target });
      expect(await everyRow(target)).toEqual(await everyRow(source));
      const { publicKey } = loadOrCreateSigningKey({ dataDir: test.dataDir });
      const copy = await target.read((tx) => verifyRegister({ tx, publicKey }));
      expect(copy).toMatchObject({ ok: true, checked: 3, problems: [] });
      expect(copy).toEqual(await source.read((tx) => verifyRegister({ tx, publicKey })));
      // PostgreSQL's identities continue after the copied rows instead of colliding with them.
      const newest = await target.write(async (tx) => {
        const [row] = await tx.db.insert(tx.tables.letterEvents).values({ letterId: 1, type: 'noted', at: new Date('2026-03-02T09:00:00Z') }).returning({ id: tx.tables.letterEvents.id });
        return row!.id;
      });
      const copiedEvents = (await everyRow(source))['letterEvents']!.length;
      expect(newest).toBe(copiedEvents + 1);
    } finally {
      await postgres.stop();
    }
  }, 60_000);

  it('refuses a target that already holds rows, and leaves it as it was', async () => {
    const target = temporarySqliteRegister();
    await copyRegister({ from: source, to: target });
    const before = await everyRow(target);
    await expect(copyRegister({ from: source, to: target })).rejects.toMatchObject({ code: 'copy.target_not_empty' });
    expect(await everyRow(target)).toEqual(before);
  });

  it('copies the register at one moment: a gateway writing to it meanwhile waits until the copy is done', async () => {
    const target = temporarySqliteRegister();
    // A gateway's connection to the same file, which does not wait for the write lock (it would answer 451 at once).
    const gateway = openSqliteRegister({ file: join(test.dataDir, 'wasl.sqlite'), busyTimeoutMs: 0 });
    keepUntilExit(gateway);
    const aGatewayWrite = () => gateway.write((tx) => tx.db.insert(tx.tables.letterEvents).values({ letterId: 1, type: 'noted', at: new Date('2026-03-02T09:00:00Z') }));
    const during: { write?: unknown } = {};
    const watched: UnitOfWork<RegisterTx> = {
      ...target,
      write: (run) =>
        target.write(async (tx) => {
          during.write = await aGatewayWrite().then(
            () => 'written',
            (error: Error) => error.message,
          );
          return run(tx);
        }),
    };
    try {
      const report = await copyRegister({ from: source, to: watched });
      expect(during.write).toMatch(/locked|busy/i);
      await aGatewayWrite();
      expect(report.letterEvents + 1).toBe((await everyRow(source))['letterEvents']!.length);
    } finally {
      await gateway.write((tx) => tx.db.delete(tx.tables.letterEvents).where(eq(tx.tables.letterEvents.type, 'noted')));
      await gateway.close();
    }
  });

  it('leaves the target empty when the copy fails part way', async () => {
    const target = temporarySqliteRegister();
    let pages = 0;
    // The source stops answering after a few pages (a disk error, a lost server).
    const failing: UnitOfWork<RegisterTx> = {
      ...source,
      write: (run) =>
        source.write((tx) => {
          const unreadable = () => {
            throw new Error('source unreadable');
          };
          const db = new Proxy(tx.db, { get: (builder, property, receiver) => (property === 'select' && ++pages > 4 ? unreadable : Reflect.get(builder, property, receiver)) });
          return run({ ...tx, db });
        }),
    };
    await expect(copyRegister({ from: failing, to: target })).rejects.toThrow('source unreadable');
    expect(pages).toBeGreaterThan(4);
    const rows = await everyRow(target);
    expect(Object.values(rows).every((tableRows) => tableRows.length === 0)).toBe(true);
  });
});
