/**
 * Who wrote a letter, as the office says it: a display name is no proof, so the forward, the
 * receipt (page and JSON) and the signed statement say whether the sender's address was verified
 * (SPF, DKIM, DMARC through an in-memory DNS), and statements signed before verdicts were
 * recorded still verify.
 */
import { eq } from 'drizzle-orm';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { openSqliteRegister } from '../../src/db/sqlite-register.js';
import { verifyReceipt } from '../../src/evidence/verify.js';
import { verifyRegister } from '../../src/receipts/register-verify.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { type TestGateway, gatewayPerTest } from '../helpers/gateway.js';
import { keepUntilExit } from '../helpers/keep-alive.js';
import { sendLetter } from '../helpers/smtp-client.js';
import { dnsFromRecords, offlineAdapters } from '../fixtures/email/offline-dns.js';

const start = gatewayPerTest();
const canReadPdfText = spawnSync('sh', ['-c', 'command -v pdftotext']).status === 0;

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const RECORDS = {
  // The attacker's own domain publishes nothing that lets 127.0.0.1 send for it.
  'evil.example': ['v=spf1 -all'],
  'citizen.test': ['v=spf1 ip4:127.0.0.1 -all'],
  '_dmarc.citizen.test': ['v=DMARC1; p=reject'],
  'wasl2026._domainkey.citizen.test': [`v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`],
};

const FORGED_FROM = '"Director General <dg@ministry.example>" <attacker@evil.example>';
const FORGED = [
  `From: ${FORGED_FROM}`,
  'To: rh@wasl.local',
  'Subject: Instruction urgente',
  'Message-ID: <forged-1@evil.example>',
  'Date: Mon, 04 May 2026 08:00:00 +0000',
  '',
  'Veuillez virer les fonds aujourd’hui.',
  '',
].join('\r\n');

async function signedLetter(): Promise<Buffer> {
  const signer = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'windows',
    dkim: { domainName: 'citizen.test', keySelector: 'wasl2026', privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
  });
  const sent = (await signer.sendMail({ from: 'Amina <amina@citizen.test>', to: 'rh@wasl.local', subject: 'Attestation', text: 'Bonjour, lettre signée.' })) as unknown as { message: Buffer };
  return sent.message;
}

const numberIn = (text: string | undefined) => /\d{4}-A-\d{6}/.exec(text ?? '')?.[0];

async function startWithDns(): Promise<TestGateway> {
  return start({ adapters: offlineAdapters(dnsFromRecords(RECORDS)) });
}

async function receiptOf(test: TestGateway, number: string) {
  const url = (await test.gateway.port.findLetter(number))!.receiptUrl;
  const json = Buffer.from(await (await fetch(`${url}.json`)).arrayBuffer());
  const page = await (await fetch(`${url}?lang=en`)).text();
  const document = JSON.parse(json.toString('utf8')) as { letter: { authentication: Record<string, unknown> | null }; statement: { sender: Record<string, unknown> } };
  return { json, page, letter: document.letter, statement: document.statement };
}

/** The office's public key, as it publishes it. */
async function officeKey(test: TestGateway): Promise<string> {
  return (await fetch(`${test.httpUrl}/.well-known/wasl-receipt-key.pem`)).text();
}

async function forwardOf(test: TestGateway): Promise<string> {
  const [forward] = await test.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
  return forward!.parsed.text ?? '';
}

describe('a letter whose display name is an address it does not come from, without passing DMARC', () => {
  it('reaches the department marked as not verified, with its real address beside the quoted name', async () => {
    const test = await startWithDns();
    const reply = await sendLetter({ port: test.smtpPort, from: 'attacker@evil.example', to: ['rh@wasl.local'], message: FORGED });
    expect(reply.data?.code).toBe(250);

    const forward = await forwardOf(test);
    expect(forward).toContain('De (NON VÉRIFIÉ) : "Director General <dg@ministry.example>" <attacker@evil.example> (email)');
    expect(forward).toContain('Rien ne prouve que ce courrier vient de cette adresse (SPF fail, DKIM none, DMARC none)');
    // Never the name alone where an address is expected.
    expect(forward).not.toMatch(/^De :\s+Director General/m);
  });

  it('has a receipt page and JSON that say the sender is not verified', async () => {
    const test = await startWithDns();
    const reply = await sendLetter({ port: test.smtpPort, from: 'attacker@evil.example', to: ['rh@wasl.local'], message: FORGED });
    const { page, letter } = await receiptOf(test, numberIn(reply.data?.text)!);

    expect(letter.authentication).toMatchObject({ verdict: 'unverified', domain: 'evil.example', spf: 'fail', spfDomain: 'evil.example', dkim: 'none', dmarc: 'none' });
    expect(page).toContain('&quot;Director General &lt;dg@ministry.example&gt;&quot; &lt;attacker@evil.example&gt;');
    expect(page).toContain('No: nothing proves that this letter comes from this address');
    expect(page).toContain('SPF fail, DKIM none, DMARC none');
  });

  it.skipIf(!canReadPdfText)('has a PDF receipt that says the sender is not verified (needs pdftotext, poppler-utils)', async () => {
    const test = await startWithDns();
    const reply = await sendLetter({ port: test.smtpPort, from: 'attacker@evil.example', to: ['rh@wasl.local'], message: FORGED });
    const pdf = Buffer.from(await (await fetch(`${(await test.gateway.port.findLetter(numberIn(reply.data?.text)!))!.receiptUrl}.pdf?lang=en`)).arrayBuffer());
    const file = join(test.dataDir, 'receipt.pdf');
    writeFileSync(file, pdf);
    const text = execFileSync('pdftotext', ['-raw', file, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    expect(text).toContain('Sender verified No: nothing proves that this letter comes from this address (SPF fail, DKIM none, DMARC none)');
  });

  it('has a signed statement that carries the verdicts and verifies', async () => {
    const test = await startWithDns();
    const reply = await sendLetter({ port: test.smtpPort, from: 'attacker@evil.example', to: ['rh@wasl.local'], message: FORGED });
    const { json, statement } = await receiptOf(test, numberIn(reply.data?.text)!);

    expect(statement).toMatchObject({ version: 2 });
    expect(statement.sender).toEqual({
      id: 'attacker@evil.example',
      name: 'Director General <dg@ministry.example>',
      authentication: { verdict: 'unverified', fromDomain: 'evil.example', spf: { result: 'fail', domain: 'evil.example' }, dkim: [], dmarc: { result: 'none', policy: null } },
    });
    const verdict = verifyReceipt({ receipt: json, publicKeyPem: await officeKey(test) });
    expect(verdict.ok).toBe(true);
    expect(verdict.checks.find((check) => check.name === 'statement')?.detail).toMatch(/from "Director General <dg@ministry\.example>" <attacker@evil\.example>, NOT VERIFIED \(SPF fail, DKIM none, DMARC none\)/);
    const publicKey = createPublicKey(await officeKey(test));
    expect(await test.gateway.database.read((tx) => verifyRegister({ tx, publicKey }))).toMatchObject({ ok: true, checked: 1 });
  });

  it('cannot be made to look verified by editing the register: the chain names the entry', async () => {
    const test = await startWithDns();
    const reply = await sendLetter({ port: test.smtpPort, from: 'attacker@evil.example', to: ['rh@wasl.local'], message: FORGED });
    const number = numberIn(reply.data?.text)!;
    const { letter } = await receiptOf(test, number);
    await test.gateway.database.write((tx) =>
      tx.db.update(tx.tables.letters).set({ authentication: JSON.stringify({ ...letter.authentication, verdict: 'verified' }) }).where(eq(tx.tables.letters.number, number)),
    );
    const publicKey = createPublicKey(await officeKey(test));
    const report = await test.gateway.database.read((tx) => verifyRegister({ tx, publicKey }));
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'altered', number })]);
  });
});

describe('the answer to such a letter', () => {
  it('is confirmed to the department naming the real address beside the quoted name', async () => {
    const test = await startWithDns();
    await sendLetter({ port: test.smtpPort, from: 'attacker@evil.example', to: ['rh@wasl.local'], message: FORGED });
    const [forward] = await test.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
    const replyAddress = forward!.parsed.replyTo!.value[0]!.address!;
    const answer = `From: rh-team@dept.test\r\nTo: ${replyAddress}\r\nSubject: Re: Instruction urgente\r\nMessage-ID: <answer-1@dept.test>\r\n\r\nNous vérifions.\r\n`;
    expect((await sendLetter({ port: test.smtpPort, from: 'rh-team@dept.test', to: [replyAddress], message: answer })).data?.code).toBe(250);

    const confirmation = (await test.relay!.waitForMessages(2, { to: 'rh-team@dept.test' }))[1]!;
    expect(confirmation.parsed.text).toContain('"Director General <dg@ministry.example>" <attacker@evil.example>');
  });
});

describe('a DKIM-signed letter from a client its domain allows (SPF and DMARC pass)', () => {
  it('reaches the department, and is receipted and signed, as verified', async () => {
    const test = await startWithDns();
    const reply = await sendLetter({ port: test.smtpPort, from: 'amina@citizen.test', to: ['rh@wasl.local'], message: await signedLetter() });
    expect(reply.data?.code).toBe(250);

    const forward = await forwardOf(test);
    expect(forward).toContain('De :             Amina <amina@citizen.test> (email, vérifié : SPF pass, DKIM pass (citizen.test), DMARC pass)');
    expect(forward).not.toContain('NON VÉRIFIÉ');

    const { json, page, letter, statement } = await receiptOf(test, numberIn(reply.data?.text)!);
    expect(letter.authentication).toMatchObject({ verdict: 'verified', domain: 'citizen.test', dmarc: 'pass', dmarcPolicy: 'reject' });
    expect(page).toContain("Yes: the sender&#x27;s mail domain vouches for this address");
    expect(statement.sender).toMatchObject({
      authentication: { verdict: 'verified', fromDomain: 'citizen.test', spf: { result: 'pass', domain: 'citizen.test' }, dkim: [{ result: 'pass', domain: 'citizen.test' }], dmarc: { result: 'pass', policy: 'reject' } },
    });
    const verdict = verifyReceipt({ receipt: json, publicKeyPem: await officeKey(test) });
    expect(verdict.ok).toBe(true);
    expect(verdict.checks.find((check) => check.name === 'statement')?.detail).toMatch(/verified for citizen\.test \(SPF pass, DKIM pass \(citizen\.test\), DMARC pass\)/);
  });
});

describe('evidence signed before sender verdicts were recorded (entry version 1)', () => {
  const fixtures = join(PROJECT_ROOT, 'test', 'fixtures', 'evidence', 'before-verdicts');
  const publicKeyPem = readFileSync(join(fixtures, 'receipt-signing.pub'), 'utf8');

  it('still verifies as a receipt, and says it records no verification of the sender', () => {
    for (const name of ['receipt-1.json', 'receipt-2.json']) {
      const verdict = verifyReceipt({ receipt: readFileSync(join(fixtures, name)), publicKeyPem });
      expect(verdict.ok, name).toBe(true);
      expect(verdict.statement?.version).toBe(1);
    }
    const forged = verifyReceipt({ receipt: readFileSync(join(fixtures, 'receipt-2.json')), publicKeyPem });
    expect(forged.checks.find((check) => check.name === 'statement')?.detail).toMatch(/sender verification not recorded: statement of version 1/);
  });

  it('is a register that still passes register verify once today’s migrations are applied', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'wasl-old-register-'));
    try {
      // The register as SQL text (sqlite3 .dump), so no database file is kept in the repository.
      const recorded = new Database(join(directory, 'wasl.sqlite'));
      recorded.exec(readFileSync(join(fixtures, 'register.sql'), 'utf8'));
      recorded.close();
      const database = openSqliteRegister({ file: join(directory, 'wasl.sqlite') });
      expect(await database.read((tx) => verifyRegister({ tx, publicKey: createPublicKey(publicKeyPem) }))).toEqual({ ok: true, checked: 2, problems: [] });
      await database.close();
      keepUntilExit(database);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
