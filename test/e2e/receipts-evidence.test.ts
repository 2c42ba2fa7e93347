/**
 * Receipts that prove something: signed statements anyone can check offline, a PDF that carries
 * its own evidence, and a register whose tampering `wasl register verify` catches.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { letterByNumber } from '../../src/letters/letters.repository.js';
import { verifyRegister } from '../../src/receipts/register-verify.js';
import { loadOrCreateSigningKey } from '../../src/evidence/signing-key.js';
import { runWasl } from '../helpers/cli.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { keepUntilExit } from '../helpers/keep-alive.js';
import { composeMessage } from '../helpers/messages.js';
import { sendLetter } from '../helpers/smtp-client.js';

const hasTool = (tool: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    // `command -v` exits non-zero when the tool is absent: that is the answer.
    return false;
  }
};
const canRenderQr = hasTool('pdftoppm') && hasTool('zbarimg');
const canReadPdfText = hasTool('pdftotext');

describe('a registered letter’s receipt', () => {
  let test: TestGateway;
  let work: string;
  let number: string;
  let receiptUrl: string;
  let original: Buffer;
  let configFile: string;

  beforeAll(async () => {
    // The PDF's time limit counts the renderer's start, which loads its code (through tsx, from the
    // sources): over the 15 s default on a loaded two-core machine. This file checks what the PDF
    // says, not how fast it comes.
    test = await startTestGateway({ config: { receipts: { pdfTimeoutMs: 120_000 } } });
    work = mkdtempSync(join(tmpdir(), 'wasl-evidence-'));
    original = await composeMessage({
      from: 'Fatima Zahra <fatima@citizen.test>',
      to: 'rh@wasl.local',
      subject: 'طلب شهادة العمل — attestation',
      text: 'Bonjour',
      attachments: [{ filename: 'cin.pdf', content: Buffer.from('%PDF-1.4 carte') }],
    });
    const reply = await sendLetter({ port: test.smtpPort, from: 'fatima@citizen.test', to: ['rh@wasl.local'], message: original });
    number = /\d{4}-A-\d{6}/.exec(reply.data!.text)![0];
    receiptUrl = (await test.gateway.port.findLetter(number))!.receiptUrl;
    writeFileSync(join(work, 'letter.eml'), original);
    /** A document the gateway serves; a refusal says so here, not later as an unreadable file. */
    const download = async (url: string) => {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${await response.text()}`);
      return Buffer.from(await response.arrayBuffer());
    };
    const [json, pdf, key] = await Promise.all([download(`${receiptUrl}.json`), download(`${receiptUrl}.pdf`), download(`${test.httpUrl}/.well-known/wasl-receipt-key.pem`)]);
    writeFileSync(join(work, 'receipt.json'), json);
    writeFileSync(join(work, 'receipt.pdf'), pdf);
    writeFileSync(join(work, 'key.pem'), key);
    configFile = join(test.dataDir, 'wasl.yaml');
    writeFileSync(configFile, stringify(test.config));
  });
  afterAll(async () => {
    await test.stop();
    rmSync(work, { recursive: true, force: true });
  });

  it('is served as a signed statement that verifies offline against the key published at the well-known URL', async () => {
    const result = await runWasl({ args: ['verify', join(work, 'receipt.json'), '--key', join(work, 'key.pem'), '--letter', join(work, 'letter.eml')] });
    expect(result.stdout).toContain(`receipt ${number} verifies`);
    expect(result.code).toBe(0);
    const statement = JSON.parse(readFileSync(join(work, 'receipt.json'), 'utf8')).statement;
    expect(statement).toMatchObject({ number, channel: 'email', departments: ['RH'], sender: { id: 'fatima@citizen.test', name: 'Fatima Zahra' }, subject: 'طلب شهادة العمل — attestation' });
  });

  it('as served over HTTP checks with OpenSSL alone, by the steps the README gives', () => {
    const script = [
      `sed -n '2s/^"statement":\\(.*\\)}$/\\1/p' receipt.json | tr -d '\\n' > statement.json`,
      `sed -n '1s/.*"value":"\\([A-Za-z0-9_-]*\\)".*/\\1==/p' receipt.json | tr '_-' '/+' | base64 -d > statement.sig`,
      'openssl pkeyutl -verify -pubin -inkey key.pem -rawin -in statement.json -sigfile statement.sig',
    ].join('\n');
    expect(execFileSync('sh', ['-c', script], { cwd: work, encoding: 'utf8' })).toContain('Signature Verified Successfully');
  });

  it('fails verification once a field of the statement is changed', async () => {
    const tampered = readFileSync(join(work, 'receipt.json'), 'utf8').replace('"departments":["RH"]', '"departments":["URB"]');
    writeFileSync(join(work, 'tampered.json'), tampered);
    const result = await runWasl({ args: ['verify', join(work, 'tampered.json'), '--key', join(work, 'key.pem')] });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL\s+signature/);
  });

  it('does not vouch for a letter that is not the one registered', async () => {
    writeFileSync(join(work, 'other.eml'), Buffer.concat([original, Buffer.from(' ')]));
    const result = await runWasl({ args: ['verify', join(work, 'receipt.json'), '--key', join(work, 'key.pem'), '--letter', join(work, 'other.eml')] });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/FAIL\s+letter/);
  });

  it('as a PDF verifies on its own, with the gateway’s own key (wasl key show gives the same key as the web)', async () => {
    const [result, shown] = await Promise.all([
      runWasl({ args: ['--config', configFile, 'verify', join(work, 'receipt.pdf')] }),
      runWasl({ args: ['--config', configFile, 'key', 'show', '--json'] }),
    ]);
    expect(result.stdout).toContain(`receipt ${number} verifies`);
    expect(result.code).toBe(0);
    expect(JSON.parse(shown.stdout).publicKeyPem).toBe(readFileSync(join(work, 'key.pem'), 'utf8'));
  });

  it.skipIf(!canRenderQr)('as a PDF carries a QR code that decodes to the receipt page (needs poppler-utils and zbar-tools)', () => {
    execFileSync('pdftoppm', ['-r', '150', '-png', '-f', '1', '-l', '1', join(work, 'receipt.pdf'), join(work, 'page')]);
    const page = ['page-1.png', 'page-01.png'].map((name) => join(work, name)).find((file) => existsSync(file))!;
    const decoded = execFileSync('zbarimg', ['--quiet', '--raw', page], { encoding: 'utf8' }).trim();
    expect(decoded).toBe(receiptUrl);
  });

  it.skipIf(!canReadPdfText)('as a PDF speaks Arabic, French or English as asked (needs poppler-utils)', async () => {
    const textOf = async (language: string) => {
      const file = join(work, `receipt-${language}.pdf`);
      const response = await fetch(`${receiptUrl}.pdf?lang=${language}`);
      expect(response.headers.get('content-language')).toBe(language);
      writeFileSync(file, Buffer.from(await response.arrayBuffer()));
      return execFileSync('pdftotext', [file, '-'], { encoding: 'utf8' });
    };
    expect(await textOf('fr')).toContain("Numéro d'enregistrement");
    expect(await textOf('en')).toContain('Registration number');
    const arabic = await textOf('ar');
    expect(arabic).toContain(number);
    expect(arabic).toMatch(/[\u0600-\u06FF]/);
  });

  it('page links the PDF, the JSON and the public key, and shows the register entry’s hash', async () => {
    const html = await (await fetch(receiptUrl)).text();
    const row = await test.gateway.database.read((tx) => letterByNumber(tx, number));
    expect(html).toContain(row!.entryHash);
    expect(html).toMatch(/href="[^"]+\.pdf\?lang=fr"/);
    expect(html).toContain('href="/.well-known/wasl-receipt-key.pem"');
  });
});

describe('the register’s hash chain', () => {
  let test: TestGateway;
  let configFile: string;
  let numbers: string[];

  beforeAll(async () => {
    test = await startTestGateway({ config: { receipts: { perSenderPerHour: 1000 } } });
    // Ten sessions at once: the chain must hold under concurrent intake.
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, index) =>
        sendLetter({ port: test.smtpPort, from: `c${index}@citizen.test`, to: ['rh@wasl.local'], message: `From: c${index}@citizen.test\r\nSubject: Lettre ${index}\r\nMessage-ID: <chain-${index}@citizen.test>\r\n\r\nx\r\n` }),
      ),
    );
    numbers = replies.map((reply) => /\d{4}-A-\d{6}/.exec(reply.data!.text)![0]).sort();
    await test.gateway.port.recordAction({ number: numbers[3]!, action: 'transferred', actor: { channel: 'email', id: 'clerk@wasl.local' }, toDepartment: 'URB' });
    await test.gateway.outbox.idle();
    configFile = join(test.dataDir, 'wasl.yaml');
    writeFileSync(configFile, stringify(test.config));
  });
  afterAll(async () => {
    await test.stop();
  });

  /** Moves what the WAL holds into the register file, so a copy of the file alone is the whole register. */
  const checkpoint = () => test.gateway.database.read((tx) => tx.db.run(sql`PRAGMA wal_checkpoint(TRUNCATE)`));

  it('verifies when nothing was touched, also after concurrent intake and a transfer', async () => {
    const key = loadOrCreateSigningKey({ dataDir: test.dataDir });
    expect(await test.gateway.database.read((tx) => verifyRegister({ tx, publicKey: key.publicKey }))).toMatchObject({ ok: true, checked: 10, problems: [] });
    const result = await runWasl({ args: ['--config', configFile, 'register', 'verify'] });
    expect(result.stdout).toBe('register intact: 10 entries checked\n');
    expect(result.code).toBe(0);
  });

  it("lets an auditor holding only the register file and the office's public key verify it, and makes no key of its own", async () => {
    const copy = mkdtempSync(join(tmpdir(), 'wasl-audit-'));
    try {
      await checkpoint();
      copyFileSync(join(test.dataDir, 'wasl.sqlite'), join(copy, 'wasl.sqlite'));
      const publicKeyFile = join(copy, 'office.pub');
      writeFileSync(publicKeyFile, loadOrCreateSigningKey({ dataDir: test.dataDir }).publicKeyPem);
      const env = { WASL_DATA_DIR: copy };

      // Three reading commands, run together: none changes what the others read.
      const [withoutKey, result, listed] = await Promise.all([
        runWasl({ args: ['register', 'verify'], env }),
        runWasl({ args: ['register', 'verify', '--key', publicKeyFile], env }),
        runWasl({ args: ['letters', 'list', '--json'], env }),
      ]);
      expect(withoutKey.code).toBe(1);
      expect(withoutKey.stderr).toContain('no public key at');
      expect(result.stdout).toBe('register intact: 10 entries checked\n');
      expect(result.code).toBe(0);
      expect(JSON.parse(listed.stdout)).toHaveLength(10);
      // Reading made neither a signing key nor an answer secret in the auditor's directory.
      expect(existsSync(join(copy, 'keys'))).toBe(false);
      expect(existsSync(join(copy, 'secret.key'))).toBe(false);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  /** Tampers with a copy of the register, as someone with access to the database file could. */
  async function verifyTampered(sql: string): Promise<{ code: number | null; stdout: string }> {
    const copy = mkdtempSync(join(tmpdir(), 'wasl-tampered-'));
    await checkpoint();
    copyFileSync(join(test.dataDir, 'wasl.sqlite'), join(copy, 'wasl.sqlite'));
    execFileSync('cp', ['-r', join(test.dataDir, 'keys'), join(copy, 'keys')]);
    const database = new Database(join(copy, 'wasl.sqlite'));
    keepUntilExit(database);
    // Someone editing the file by hand is not held back by our foreign keys.
    database.exec('PRAGMA foreign_keys = OFF');
    database.exec(sql);
    database.close();
    const file = join(copy, 'wasl.yaml');
    writeFileSync(file, stringify({ ...test.config, dataDir: copy }));
    const result = await runWasl({ args: ['--config', file, 'register', 'verify'] });
    rmSync(copy, { recursive: true, force: true });
    return result;
  }

  it('reports an entry whose row was edited, naming it, with exit code 1', async () => {
    const result = await verifyTampered(`update letters set subject = 'Autre objet' where number = '${numbers[4]}'`);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('register NOT intact');
    expect(result.stdout.split('\n')[1]).toContain(numbers[4]);
  });

  it('reports an entry that was deleted', async () => {
    const result = await verifyTampered(`delete from letters where number = '${numbers[6]}'`);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`${numbers[7]}|${numbers[6]}`));
  });

  it('reports entries that were reordered', async () => {
    const idOf = async (number: string) => (await test.gateway.database.read((tx) => letterByNumber(tx, number)))!.id;
    const [first, second] = [await idOf(numbers[1]!), await idOf(numbers[2]!)];
    // Swap the two rows' places in the register (their contents move with them, untouched).
    const result = await verifyTampered(`update letters set id = -1 where id = ${first}; update letters set id = ${first} where id = ${second}; update letters set id = ${second} where id = -1;`);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('register NOT intact');
  });
});
