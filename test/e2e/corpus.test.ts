/**
 * Real-world mail (bounces from many MTAs, messages that only look like bounces, broken ones, a
 * MIME torture test, an abuse report...) through SMTP intake. Every message is either registered,
 * with its subject, body and every attachment as mailparser reads the same bytes, or refused with
 * a clear code; nothing crashes; no bounce is ever receipted. All 193 messages of
 * test/fixtures/corpus are sent, over four concurrent sessions.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { and, eq, inArray } from 'drizzle-orm';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attachments, blobs, deliveries, letters } from '../../src/db/schema.js';
import { eventsOf, letterByNumber } from '../../src/letters/letters.repository.js';
import { startTestGateway, type TestGateway, readRegister } from '../helpers/gateway.js';
import { SmtpSession, type SmtpReply } from '../helpers/smtp-client.js';
import { CORPUS_DIR } from '../fixtures/corpus/index.js';
import { dnsFromRecords, offlineAdapters } from '../fixtures/email/offline-dns.js';

const FOLDERS = ['postal-mime', 'sisimai/bsd', 'sisimai/not', 'sisimai/err'];
const LANES = 4;

interface Sample {
  folder: string;
  name: string;
  /** The bytes as they travel: the SMTP client sends CRLF line ends (the bsd files have LF). */
  bytes: Buffer;
  envelopeFrom: string;
}

interface Outcome {
  sample: Sample;
  reply: SmtpReply;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** mailparser writes an embedded message's missing Date as the time of parsing into the text: not the letter's. */
const withoutDates = (text: string) => text.replace(/^Date: .*$/gm, 'Date:');

/** The envelope sender a real delivery would have had: the Return-Path the file kept, else the null sender. */
function envelopeSenderOf(bytes: Buffer): string {
  const returnPath = /^Return-Path:\s*<([^<>\s]*)>/im.exec(bytes.toString('latin1'))?.[1] ?? '';
  return /^[^@\s]+@[a-z0-9.-]+$/i.test(returnPath) ? returnPath : '';
}

function loadCorpus(): Sample[] {
  return FOLDERS.flatMap((folder) =>
    readdirSync(join(CORPUS_DIR, folder))
      .filter((name) => name.endsWith('.eml'))
      .sort()
      .map((name) => {
        const file = readFileSync(join(CORPUS_DIR, folder, name));
        const bytes = Buffer.from(file.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
        return { folder, name, bytes, envelopeFrom: envelopeSenderOf(bytes) };
      }),
  );
}

/** One session sends its share of the corpus, one transaction after another; a dropped session is reopened. */
async function sendLane({ port, samples }: { port: number; samples: Sample[] }): Promise<Outcome[]> {
  const outcomes: Outcome[] = [];
  let session: SmtpSession | undefined;
  for (const sample of samples) {
    try {
      if (!session) {
        session = (await SmtpSession.open(port)).session;
        await session.command('EHLO corpus.test');
      }
      const mail = await session.command(`MAIL FROM:<${sample.envelopeFrom}>`);
      const refused = mail.code === 250 ? await session.command('RCPT TO:<rh@wasl.local>') : mail;
      if (refused.code !== 250) {
        outcomes.push({ sample, reply: refused });
        await session.command('RSET');
        continue;
      }
      outcomes.push({ sample, reply: await session.data(sample.bytes) });
    } catch (error) {
      outcomes.push({ sample, reply: { code: 0, text: `connection lost: ${(error as Error).message}` } });
      session = undefined;
    }
  }
  await session?.quit();
  return outcomes;
}

let test: TestGateway;
let outcomes: Outcome[];

beforeAll(async () => {
  // Corpus senders name real domains: their SPF/DKIM/DMARC questions get "no such name" from memory.
  test = await startTestGateway({ config: { adapters: { email: { smtp: { maxSize: 4 * 1024 * 1024 } } } }, adapters: offlineAdapters(dnsFromRecords({})) });
  const samples = loadCorpus();
  const lanes = Array.from({ length: LANES }, (_unused, lane) => samples.filter((_sample, index) => index % LANES === lane));
  outcomes = (await Promise.all(lanes.map((lane) => sendLane({ port: test.smtpPort, samples: lane })))).flat();
}, 120_000);

afterAll(async () => {
  await test?.stop();
});

const registeredNumber = (outcome: Outcome) => /^2\.\d\.\d Registered as (\d{4}-A-\d{6})$/.exec(outcome.reply.text)?.[1];
const earlierNumber = (outcome: Outcome) => /^2\.\d\.\d Already registered as (\d{4}-A-\d{6})$/.exec(outcome.reply.text)?.[1];

describe('the public corpus through SMTP intake', () => {
  it('gets one answer per message: 250, or a refusal with an enhanced code and a reason', () => {
    expect(outcomes).toHaveLength(193);
    const unclear = outcomes.filter(({ reply }) => reply.code !== 250 && !(reply.code >= 400 && /^[45]\.\d{1,3}\.\d{1,3} \S.{10,}/.test(reply.text)));
    expect(unclear.map(({ sample, reply }) => `${sample.name}: ${reply.code} ${reply.text}`)).toEqual([]);
    expect(outcomes.filter(({ reply }) => reply.code === 250).length).toBeGreaterThan(185);
  });

  it('registers each accepted message with the subject, body and attachments mailparser reads from the same bytes, the original kept byte for byte', async () => {
    const registered = outcomes.filter((outcome) => registeredNumber(outcome));
    expect(registered.length).toBeGreaterThan(180);
    let attachmentsCompared = 0;
    const mismatches: string[] = [];
    for (const outcome of registered) {
      const row = (await readRegister(test.gateway, (db) => db.select().from(letters).where(eq(letters.number, registeredNumber(outcome)!)).limit(1)))[0]!;
      const expected = await simpleParser(outcome.sample.bytes, { skipImageLinks: true, skipTextToHtml: true });
      const stored = (await readRegister(test.gateway, (db) => db.select().from(attachments).where(eq(attachments.letterId, row.id)))).sort((a, b) => a.position - b.position);
      const original = (await readRegister(test.gateway, (db) => db.select().from(blobs).where(eq(blobs.sha256, row.originalSha256)).limit(1)))[0]!;
      const problems = [
        row.subject !== (expected.subject?.trim() || null) && `subject ${JSON.stringify(row.subject)}`,
        withoutDates(row.bodyText) !== withoutDates(expected.text ?? '') && 'body text',
        JSON.stringify(stored.map((file) => file.sha256)) !== JSON.stringify(expected.attachments.map((file) => sha256(file.content))) && 'attachments',
        Buffer.compare(original.content, outcome.sample.bytes) !== 0 && 'original bytes',
      ].filter(Boolean);
      if (problems.length > 0) mismatches.push(`${outcome.sample.name}: ${problems.join(', ')}`);
      attachmentsCompared += stored.length;
    }
    expect(mismatches).toEqual([]);
    expect(attachmentsCompared).toBeGreaterThan(100);
  });

  it('answers a message that repeats an earlier one byte for byte with that letter\'s number', async () => {
    const repeated = outcomes.filter((outcome) => earlierNumber(outcome));
    expect(repeated.length).toBeGreaterThan(0);
    for (const outcome of repeated) {
      const earlier = (await readRegister(test.gateway, (db) => db.select().from(letters).where(eq(letters.number, earlierNumber(outcome)!)).limit(1)))[0]!;
      expect(earlier.originalSha256).toBe(sha256(outcome.sample.bytes));
    }
  });

  it('registers a message that only shares an earlier one\'s Message-ID and sender as a letter of its own, and says so (sisimai anonymised many IDs alike)', async () => {
    const registered = outcomes
      .map((outcome) => ({ outcome, number: registeredNumber(outcome) }))
      .filter((entry): entry is { outcome: Outcome; number: string } => entry.number !== undefined);
    const reused = (
      await test.gateway.database.read(async (tx) => {
        const found = [];
        for (const { outcome, number } of registered) {
          const row = (await letterByNumber(tx, number))!;
          found.push({ outcome, row, event: (await eventsOf(tx, row.id)).find((event) => event.type === 'message_id_reused') });
        }
        return found;
      })
    ).filter(({ event }) => event !== undefined);
    expect(reused.length).toBeGreaterThan(0);
    for (const { outcome, row, event } of reused) {
      expect(row.originalSha256).toBe(sha256(outcome.sample.bytes));
      const { earlier } = JSON.parse(event!.detail!) as { earlier: string[] };
      const earlierRows = await readRegister(test.gateway, (db) => db.select().from(letters).where(inArray(letters.number, earlier)));
      expect(earlierRows).toHaveLength(earlier.length);
      for (const other of earlierRows) {
        expect([other.channel, other.senderId, other.externalId]).toEqual([row.channel, row.senderId, row.externalId]);
        expect(other.originalSha256).not.toBe(row.originalSha256);
      }
    }
  });

  it('decodes the MIME torture test: every attachment, and a readable body', async () => {
    const torture = outcomes.find((outcome) => outcome.sample.name === 'mimetorture.eml')!;
    const row = (await readRegister(test.gateway, (db) => db.select().from(letters).where(eq(letters.number, registeredNumber(torture)!)).limit(1)))[0]!;
    expect(row.bodyText.length + (row.bodyHtml?.length ?? 0)).toBeGreaterThan(0);
    expect(row.bodyText).not.toContain('\uFFFD');
    expect((await readRegister(test.gateway, (db) => db.select().from(attachments).where(eq(attachments.letterId, row.id)))).length).toBeGreaterThan(5);
  });

  it('never queues a receipt for a bounce, and forwards none of those it sets aside', async () => {
    const bounceNumbers = outcomes
      .filter((outcome) => outcome.sample.folder.endsWith('bsd'))
      .map((outcome) => registeredNumber(outcome) ?? earlierNumber(outcome))
      .filter((number): number is string => number !== undefined);
    expect(bounceNumbers).toHaveLength(148);
    const ids = (await readRegister(test.gateway, (db) => db.select({ id: letters.id }).from(letters).where(inArray(letters.number, bounceNumbers)))).map((row) => row.id);
    expect(await readRegister(test.gateway, (db) => db.select().from(deliveries).where(and(inArray(deliveries.letterId, ids), eq(deliveries.kind, 'receipt'))))).toEqual([]);
    // Bounces and reports are set aside for the mail office: their letters queue nothing at all.
    const setAside = await readRegister(test.gateway, (db) => db.select().from(letters).where(and(inArray(letters.id, ids), inArray(letters.automated, ['bounce', 'report']))));
    expect(setAside.length).toBeGreaterThan(120);
    expect(await readRegister(test.gateway, (db) => db.select().from(deliveries).where(inArray(deliveries.letterId, setAside.map((row) => row.id))))).toEqual([]);
  });

  it('leaves the server up: a plain letter afterwards gets 250', async () => {
    const { session } = await SmtpSession.open(test.smtpPort);
    await session.command('EHLO after.test');
    await session.command('MAIL FROM:<after@citizen.test>');
    await session.command('RCPT TO:<rh@wasl.local>');
    const reply = await session.data('From: after@citizen.test\r\nSubject: Après\r\n\r\nBonjour\r\n');
    await session.quit();
    expect(reply.code).toBe(250);
  });
});
