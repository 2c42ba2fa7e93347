/**
 * Hostile and odd mail over real SMTP into the real gateway: auto-responders that would loop,
 * bounces about nothing of ours, forged senders (SPF, DKIM, DMARC from an in-memory DNS), messages
 * built to exhaust the MIME parser, and attachment names that try to be paths. Bounces of our own
 * messages, real and forged, are in bounces.test.ts.
 */
import { createHash, generateKeyPairSync, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { count, eq } from 'drizzle-orm';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { attachments, deliveries, letterEvents, letters } from '../../src/db/schema.js';
import { type TestGateway, gatewayPerTest, readRegister, rowsOf } from '../helpers/gateway.js';
import { composeMessage } from '../helpers/messages.js';
import { sendLetter } from '../helpers/smtp-client.js';
import { corpusMessage } from '../fixtures/corpus/index.js';
import { deeplyNested, manyParts } from '../fixtures/email/mime-bombs.js';
import { dnsFromRecords, offlineAdapters, type RecordedDns } from '../fixtures/email/offline-dns.js';

const start = gatewayPerTest();


const numberIn = (text: string | undefined) => /\d{4}-A-\d{6}/.exec(text ?? '')?.[0];
const letterCount = async (test: TestGateway) => (await readRegister(test.gateway, (db) => db.select({ n: count() }).from(letters).limit(1)))[0]!.n;
const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

async function letterRow(test: TestGateway, number: string) {
  return (await readRegister(test.gateway, (db) => db.select().from(letters).where(eq(letters.number, number)).limit(1)))[0]!;
}

async function eventsOf(test: TestGateway, number: string): Promise<string[]> {
  const letter = await letterRow(test, number);
  return (await readRegister(test.gateway, (db) => db.select().from(letterEvents).where(eq(letterEvents.letterId, letter.id)))).map((event) => event.type);
}

async function receiptFacts(test: TestGateway, number: string): Promise<Record<string, unknown> & { history: { type: string }[] }> {
  const response = await fetch(`${(await test.gateway.port.findLetter(number))!.receiptUrl}.json`);
  return ((await response.json()) as { letter: Record<string, unknown> & { history: { type: string }[] } }).letter;
}

describe('the receipt cap', () => {
  it('holds whatever the headers say: 11 plain letters from one sender in an hour get 10 receipts', async () => {
    const test = await start();
    for (let index = 0; index < 11; index += 1) {
      // Nothing marks these as automatic; one even says so explicitly (Auto-Submitted: no).
      const message = await composeMessage({
        from: 'insistent@citizen.test',
        to: 'rh@wasl.local',
        subject: `Demande n° ${index + 1}`,
        text: 'Bonjour',
        headers: index === 0 ? { 'Auto-Submitted': 'no' } : {},
      });
      const reply = await sendLetter({ port: test.smtpPort, from: 'insistent@citizen.test', to: ['rh@wasl.local'], message });
      expect(reply.data?.code).toBe(250);
    }
    await test.relay!.waitForMessages(11, { to: 'rh-team@dept.test' });
    await test.relay!.waitForMessages(10, { to: 'insistent@citizen.test' });
    await test.gateway.outbox.idle();

    expect(test.relay!.to('insistent@citizen.test')).toHaveLength(10);
    const receipts = await readRegister(test.gateway, (db) => db.select().from(deliveries).where(eq(deliveries.kind, 'receipt')));
    expect(receipts.map((row) => row.status).sort()).toEqual([...Array<string>(10).fill('sent'), 'suppressed']);
    expect(receipts.find((row) => row.status === 'suppressed')!.lastErrorCode).toBe('receipt.rate_limited');
  });
});

describe('a bounce or an abuse report about nothing of ours, sent to a department', () => {
  it.each([
    ['a DSN', corpusMessage('sisimai/bsd/lhost-postfix-06.eml'), 'bounce'],
    ['an ARF abuse report', corpusMessage('postal-mime/arf.eml'), 'report'],
  ])('(%s) is set aside for the mail office: registered as automated and quarantined, neither forwarded nor receipted', async (_label, message, kind) => {
    const test = await start();
    const reply = await sendLetter({ port: test.smtpPort, from: 'reports@isp.test', to: ['rh@wasl.local'], message });
    expect(reply.data?.code).toBe(250);
    const number = numberIn(reply.data?.text)!;
    expect((await letterRow(test, number)).automated).toBe(kind);
    expect(await eventsOf(test, number)).toEqual(['registered', 'quarantined']);
    expect(await rowsOf(test.gateway, deliveries)).toEqual([]);
  });
});

describe('sender authentication (SPF, DKIM, DMARC from an in-memory DNS)', () => {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicKeyBase64 = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const records = {
    'citizen.test': ['v=spf1 ip4:127.0.0.1 -all'],
    '_dmarc.citizen.test': ['v=DMARC1; p=reject'],
    'wasl2026._domainkey.citizen.test': [`v=DKIM1; k=rsa; p=${publicKeyBase64}`],
    'bank.test': ['v=spf1 ip4:192.0.2.10 -all'],
    '_dmarc.bank.test': ['v=DMARC1; p=reject'],
    'lax.test': ['v=spf1 ip4:192.0.2.20 -all'],
    '_dmarc.lax.test': ['v=DMARC1; p=none'],
  };

  async function signedLetter(from: string): Promise<Buffer> {
    const signer = nodemailer.createTransport({
      streamTransport: true,
      buffer: true,
      newline: 'windows',
      dkim: { domainName: 'citizen.test', keySelector: 'wasl2026', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    });
    const sent = (await signer.sendMail({ from, to: 'rh@wasl.local', subject: 'Signé', text: 'Bonjour, lettre signée.' })) as unknown as { message: Buffer };
    return sent.message;
  }

  async function startWithDns(dmarcPolicy: 'accept' | 'quarantine' | 'reject'): Promise<{ test: TestGateway; dns: RecordedDns; port: number }> {
    const dns = dnsFromRecords(records);
    const test = await start({ config: { adapters: { email: { dmarcPolicy } } }, adapters: offlineAdapters(dns) });
    return { test, dns, port: test.smtpPort };
  }

  it('records pass verdicts on the letter and its receipt for a DKIM-signed letter from an SPF-allowed client', async () => {
    const { test, dns, port } = await startWithDns('reject');
    const reply = await sendLetter({ port, from: 'amina@citizen.test', to: ['rh@wasl.local'], message: await signedLetter('Amina <amina@citizen.test>') });
    expect(reply.data?.code).toBe(250);
    const facts = await receiptFacts(test, numberIn(reply.data?.text)!);
    expect(facts.authentication).toMatchObject({ spf: 'pass', dkim: 'pass', dmarc: 'pass', domain: 'citizen.test' });
    expect((facts.authentication as { summary: string }).summary).toMatch(/dkim=pass .*header\.d=citizen\.test/);
    expect(dns.questions).toEqual(expect.arrayContaining(['TXT wasl2026._domainkey.citizen.test', 'TXT citizen.test', 'TXT _dmarc.citizen.test']));
  });

  it('with dmarcPolicy reject, refuses a forged sender with 550 5.7.1 saying why, and stores nothing', async () => {
    const { test, port } = await startWithDns('reject');
    const message = await composeMessage({ from: 'Votre banque <service@bank.test>', to: 'rh@wasl.local', subject: 'Urgent', text: 'Cliquez ici' });
    const reply = await sendLetter({ port, from: 'service@bank.test', to: ['rh@wasl.local'], message });
    expect(reply.data?.code).toBe(550);
    expect(reply.data?.text).toMatch(/^5\.7\.1 The letter fails DMARC for bank\.test \(.*spf=fail.*\); nothing was registered$/);
    expect(await letterCount(test)).toBe(0);
  });

  it('with dmarcPolicy quarantine, registers a forged sender for the mail office only: no forward, no receipt', async () => {
    const { test, port } = await startWithDns('quarantine');
    const message = await composeMessage({ from: 'service@bank.test', to: 'rh@wasl.local', subject: 'Urgent', text: 'Cliquez ici' });
    const reply = await sendLetter({ port, from: 'service@bank.test', to: ['rh@wasl.local'], message });
    expect(reply.data?.code).toBe(250);
    const number = numberIn(reply.data?.text)!;
    expect(await eventsOf(test, number)).toEqual(['registered', 'quarantined']);
    expect(await rowsOf(test.gateway, deliveries)).toEqual([]);
    expect((await receiptFacts(test, number)).authentication).toMatchObject({ spf: 'fail', dkim: 'none', dmarc: 'fail', domain: 'bank.test' });
  });

  it.each([
    ['even with dmarcPolicy reject, a letter whose domain asks for no action (p=none)', 'reject', 'someone@lax.test', 'lax.test'],
    ['with the default policy (accept), a forged sender', 'accept', 'service@bank.test', 'bank.test'],
  ] as const)('%s is forwarded, and its receipt shows the failed verdicts', async (_label, policy, sender, domain) => {
    const { test, port } = await startWithDns(policy);
    const message = await composeMessage({ from: sender, to: 'rh@wasl.local', subject: 'Demande', text: 'Bonjour' });
    const reply = await sendLetter({ port, from: sender, to: ['rh@wasl.local'], message });
    expect(reply.data?.code).toBe(250);
    await test.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
    expect((await receiptFacts(test, numberIn(reply.data?.text)!)).authentication).toMatchObject({ spf: 'fail', dmarc: 'fail', domain });
  });
});

describe('a message built to exhaust the MIME parser', () => {
  it.each([
    ['with 5,000 parts', manyParts(5000), /^5\.3\.4 The letter has more than 500 MIME parts/],
    ['nested 2,000 levels deep', deeplyNested(2000), /^5\.3\.4 The letter's MIME parts are nested more than 20 levels deep/],
  ])('%s is refused with 552 5.3.4 and a clear text, nothing is stored, and the next letter gets 250', async (_label, message, text) => {
    const test = await start({ config: { adapters: { email: { smtp: { maxSize: 1024 * 1024 } } } } });
    const reply = await sendLetter({ port: test.smtpPort, from: 'x@citizen.test', to: ['rh@wasl.local'], message });
    expect(reply.data?.code).toBe(552);
    expect(reply.data?.text).toMatch(text);
    expect(await letterCount(test)).toBe(0);
    const next = await sendLetter({ port: test.smtpPort, from: 'x@citizen.test', to: ['rh@wasl.local'], message: manyParts(3) });
    expect(next.data?.code).toBe(250);
  });
});

function filesUnder(directory: string): string[] {
  return readdirSync(directory, { recursive: true, encoding: 'utf8' }).map((name) => join(directory, name));
}

describe('attachment names', () => {
  it('with paths, control characters or a right-to-left override are kept only as metadata, and shown harmless on the forward', async () => {
    const test = await start();
    const given = ['../../etc/passwd', '..\\..\\boot.ini', 'facture\u202Efdp.exe', 'note\u0007\u001b[31m.txt'];
    const contents = given.map(() => randomBytes(200));
    const message = await composeMessage({
      from: 'tricky@citizen.test',
      to: 'rh@wasl.local',
      subject: 'Pièces',
      text: 'Voir pièces jointes.',
      attachments: given.map((filename, index) => ({ filename, content: contents[index]!, contentType: 'application/octet-stream' })),
    });
    const reply = await sendLetter({ port: test.smtpPort, from: 'tricky@citizen.test', to: ['rh@wasl.local'], message });
    expect(reply.data?.code).toBe(250);
    const number = numberIn(reply.data?.text)!;

    // The register keeps each name as given, next to the content's hash; the content is stored by hash alone.
    const { id } = await letterRow(test, number);
    const rows = await readRegister(test.gateway, (db) => db.select().from(attachments).where(eq(attachments.letterId, id)));
    expect(rows.map((row) => [row.filename, row.sha256])).toEqual(given.map((filename, index) => [filename, sha256(contents[index]!)]));
    const onDisk = filesUnder(test.dataDir);
    expect(onDisk.filter((path) => /passwd|boot|fdp|note/.test(path))).toEqual([]);

    const [forward] = await test.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
    const shown = forward!.parsed.attachments.map((attachment) => attachment.filename);
    expect(shown).toEqual(['passwd', 'boot.ini', 'facturefdp.exe', 'note[31m.txt']);
    // eslint-disable-next-line no-control-regex -- finding control characters is the point
    for (const name of shown) expect(name).not.toMatch(/[/\\\u0000-\u001f\u007f\u202a-\u202e\u2066-\u2069]/);
    expect(forward!.parsed.attachments.map((attachment) => sha256(attachment.content))).toEqual(contents.map(sha256));
  });
});
