/**
 * When the register cannot store a letter, the sender is told to try later (451), never 250;
 * and a stop lets letters in progress finish.
 */
import Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deliveries, letters } from '../../src/db/schema.js';
import { clockFrom } from '../helpers/clock.js';
import { gatewayPerTest, waitFor, rowsOf } from '../helpers/gateway.js';
import { heldDisk } from '../helpers/held-disk.js';
import { keepUntilExit } from '../helpers/keep-alive.js';
import { sendLetter, SmtpSession } from '../helpers/smtp-client.js';

const start = gatewayPerTest();

const letter = (id: string) => `From: f@citizen.test\r\nTo: rh@wasl.local\r\nSubject: ${id}\r\nMessage-ID: <${id}@citizen.test>\r\n\r\nx\r\n`;

describe('a register that cannot write', () => {
  it('when the disk is full, the sender gets 451 and nothing is stored; once there is room, the same letter gets 250', async () => {
    const test = await start();
    // Cap the file at its current size (a setting of the register's connection): SQLite then fails writes with SQLITE_FULL, as on a full disk.
    const pragma = (text: string) => test.gateway.database.read((tx) => tx.db.get<Record<string, number>>(sql.raw(`PRAGMA ${text}`)));
    const { page_count: pages } = await pragma('page_count');
    await pragma(`max_page_count = ${pages}`);
    const big = `From: f@citizen.test\r\nTo: rh@wasl.local\r\nSubject: full\r\nMessage-ID: <full@citizen.test>\r\n\r\n${'x'.repeat(100_000)}\r\n`;

    const refused = await sendLetter({ port: test.smtpPort, from: 'f@citizen.test', to: ['rh@wasl.local'], message: big });
    expect(refused.data?.code).toBe(451);
    expect(refused.data?.text).toMatch(/^4\.3\.0 .*nothing was registered.*try again later/);
    expect(await rowsOf(test.gateway, letters)).toHaveLength(0);

    await pragma('max_page_count = 1073741823');
    const accepted = await sendLetter({ port: test.smtpPort, from: 'f@citizen.test', to: ['rh@wasl.local'], message: big });
    expect(accepted.data?.code).toBe(250);
    expect(await rowsOf(test.gateway, letters)).toHaveLength(1);
  });

  it('when another process holds the database locked, the sender gets 451 and nothing is stored', async () => {
    const test = await start({ config: { database: { busyTimeoutMs: 200 } } });
    const other = new Database(join(test.dataDir, 'wasl.sqlite'));
    keepUntilExit(other);
    other.exec('BEGIN EXCLUSIVE');
    try {
      const reply = await sendLetter({ port: test.smtpPort, from: 'f@citizen.test', to: ['rh@wasl.local'], message: letter('locked') });
      expect(reply.data?.code).toBe(451);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect(await rowsOf(test.gateway, letters)).toHaveLength(0);
    const retried = await sendLetter({ port: test.smtpPort, from: 'f@citizen.test', to: ['rh@wasl.local'], message: letter('locked') });
    expect(retried.data?.code).toBe(250);
  });
});

describe('a register whose disk is slow or failing', () => {
  it('answers 250 and lets the forward and receipt leave only once the disk holds the letter', async () => {
    const disk = heldDisk();
    const test = await start({ flushToDisk: disk.flushToDisk });
    const sending = sendLetter({ port: test.smtpPort, from: 'f@citizen.test', to: ['rh@wasl.local'], message: letter('slow-disk') });
    await waitFor(() => disk.flushes.length === 1, { what: "the letter's flush" });
    // Committed and its messages composed, but the disk has not confirmed: nothing may leave yet.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(test.relay!.messages).toHaveLength(0);

    disk.flushes[0]!.finish();
    expect((await sending).data?.code).toBe(250);
    const sent = await test.relay!.waitForMessages(2);
    expect(sent.map((message) => message.rcptTo[0]).sort()).toEqual(['f@citizen.test', 'rh-team@dept.test']);
  });

  it('stores a letter\'s deliveries claimed by this gateway, under a lease from the moment it is registered, and lets the claim go once they are sent', async () => {
    const disk = heldDisk();
    const test = await start({ flushToDisk: disk.flushToDisk, now: clockFrom('2026-03-14T09:00:00Z') });
    const sending = sendLetter({ port: test.smtpPort, from: 'f@citizen.test', to: ['rh@wasl.local'], message: letter('born-claimed') });
    await waitFor(() => disk.flushes.length === 1, { what: "the letter's flush" });
    const [registered] = await rowsOf(test.gateway, letters);
    const born = await rowsOf(test.gateway, deliveries);
    expect(born.map((row) => [row.kind, row.status, row.attempts])).toEqual([
      ['forward', 'sending', 1],
      ['receipt', 'sending', 1],
    ]);
    // Another gateway sharing the register leaves them alone until this one's lease runs out.
    expect(new Set(born.map((row) => row.claimedBy)).size).toBe(1);
    expect(born[0]!.claimedBy).toEqual(expect.any(String));
    for (const row of born) expect(row.leaseUntil).toEqual(new Date(registered!.registeredAt.getTime() + test.config.outbox.leaseMs));

    disk.letGo();
    expect((await sending).data?.code).toBe(250);
    await test.relay!.waitForMessages(2);
    await test.gateway.outbox.idle();
    expect((await rowsOf(test.gateway, deliveries)).map((row) => [row.status, row.claimedBy, row.leaseUntil])).toEqual([
      ['sent', null, null],
      ['sent', null, null],
    ]);
  });

  it('when the disk fails to flush a letter, the sender gets 451 with its number and nothing leaves until a later flush holds it; the retry gets the same number', async () => {
    const disk = heldDisk();
    const test = await start({ flushToDisk: disk.flushToDisk, now: clockFrom('2026-03-14T09:00:00Z') });
    const message = letter('failed-flush');
    const sending = sendLetter({ port: test.smtpPort, from: 'f@citizen.test', to: ['rh@wasl.local'], message });
    await waitFor(() => disk.flushes.length === 1, { what: "the letter's flush" });
    disk.failWithIoError(0);
    const refused = await sending;
    expect(refused.data?.code).toBe(451);
    // Not "nothing was registered": the letter is in the register, and the sender hears its number.
    expect(refused.data?.text).toBe('4.3.0 The letter is registered as 2026-A-000001, but the disk did not confirm it; please try again later: the same message gets the same number');

    // The letter is in the register all the same: its deliveries wait for a flush that holds it.
    await waitFor(() => disk.flushes.length === 2, { what: 'a second flush' });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(test.relay!.messages).toHaveLength(0);
    disk.letGo();
    const sent = await test.relay!.waitForMessages(2);
    expect(sent.map((each) => each.rcptTo[0]).sort()).toEqual(['f@citizen.test', 'rh-team@dept.test']);

    const retried = await sendLetter({ port: test.smtpPort, from: 'f@citizen.test', to: ['rh@wasl.local'], message });
    expect(retried.data?.code).toBe(250);
    const stored = await rowsOf(test.gateway, letters);
    expect(stored).toHaveLength(1);
    expect(stored[0]!.number).toBe('2026-A-000001');
    expect(retried.data?.text).toContain(stored[0]!.number);
    await test.gateway.outbox.idle();
    expect(test.relay!.messages).toHaveLength(2);
  });
});

describe('a graceful stop', () => {
  it('finishes the letter being sent, tells new sessions 421, and keeps every accepted letter', async () => {
    const test = await start();
    const { session } = await SmtpSession.open(test.smtpPort);
    await session.command('EHLO client.test');
    await session.command('MAIL FROM:<f@citizen.test>');
    await session.command('RCPT TO:<rh@wasl.local>');
    expect((await session.command('DATA')).code).toBe(354);
    session.write('From: f@citizen.test\r\nSubject: en cours\r\nMessage-ID: <inflight@citizen.test>\r\n\r\nPremière partie\r\n');

    const stopping = test.stopGateway();
    const late = await SmtpSession.open(test.smtpPort);
    expect(late.greeting.code).toBe(421);
    await late.session.quit();

    session.write('Fin.\r\n.\r\n');
    const answer = await session.read();
    expect(answer.code).toBe(250);
    await session.quit();
    await stopping;

    await test.restart();
    expect((await test.gateway.port.findLetter(/\d{4}-A-\d{6}/.exec(answer.text)![0]))?.subject).toBe('en cours');
  });

  it('leaves no file of the register open once stopped', async () => {
    const test = await start();
    const reply = await sendLetter({ port: test.smtpPort, from: 'f@citizen.test', to: ['rh@wasl.local'], message: letter('last-before-stop') });
    expect(reply.data?.code).toBe(250);
    const registerFiles = () =>
      readdirSync('/proc/self/fd')
        .map((fd) => {
          try {
            return readlinkSync(`/proc/self/fd/${fd}`);
          } catch {
            return ''; // closed meanwhile (the descriptor of readdir itself)
          }
        })
        .filter((target) => target.startsWith(test.dataDir));
    expect(registerFiles()).toEqual(expect.arrayContaining([join(test.dataDir, 'wasl.sqlite-wal')]));
    await test.stopGateway();
    await waitFor(() => registerFiles().length === 0, { what: "the register's files to be closed" });
  });
});
