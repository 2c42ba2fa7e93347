import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/evidence/canonical-json.js';
import { defaultSigningKeyPaths, describePublicKey, loadOrCreateSigningKey } from '../../src/evidence/signing-key.js';
import { entryHashOf, formatReceiptJson } from '../../src/evidence/statement.js';
import { verifyReceipt } from '../../src/evidence/verify.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { ATTACHMENT_BYTES, FIRST_LETTER, LETTER_BYTES, signedReceipt } from '../fixtures/evidence/sample-receipts.js';

const dataDir = mkdtempSync(join(tmpdir(), 'wasl-evidence-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const key = loadOrCreateSigningKey({ dataDir });
const receipt = signedReceipt({ facts: FIRST_LETTER, previousEntryHash: 'ab'.repeat(32), key });
const receiptJson = (statement: unknown) => Buffer.from(formatReceiptJson({ canonicalStatement: canonicalJson(statement), signatureValue: receipt.signature.value }));

/** Every leaf of a JSON value with its path, arrays included. */
function leaves(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([name, member]) => leaves(member, [...path, Array.isArray(value) ? Number(name) : name]));
  return [path];
}

function withChanged(statement: object, path: (string | number)[]): object {
  const copy = structuredClone(statement) as Record<string | number, unknown>;
  const parent = path.slice(0, -1).reduce<Record<string | number, unknown>>((node, step) => node[step] as Record<string | number, unknown>, copy);
  const last = path.at(-1)!;
  const old = parent[last];
  parent[last] = typeof old === 'number' ? old + 1 : typeof old === 'string' ? (old === '' ? 'x' : old.slice(0, -1) + (old.endsWith('0') ? '1' : '0')) : old === null ? 'x' : !old;
  return copy;
}

describe('the receipt signing key', () => {
  it('is made on first use in the data directory, private part readable by the owner only, and kept afterwards', () => {
    const paths = defaultSigningKeyPaths(dataDir);
    expect(statSync(paths.privateKeyPath).mode & 0o777).toBe(0o600);
    expect(readFileSync(paths.publicKeyPath, 'utf8')).toBe(key.publicKeyPem);
    const again = loadOrCreateSigningKey({ dataDir });
    expect(again.keyId).toBe(key.keyId);
    expect(describePublicKey(again.publicKey)).toEqual({ algorithm: 'Ed25519', keyId: key.keyId, publicKeyPem: key.publicKeyPem });
    expect(key.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
    expect(key.keyId).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is made once when several gateways start on the same data directory at the same moment', async () => {
    const shared = join(dataDir, 'shared');
    const program = `import { loadOrCreateSigningKey } from ${JSON.stringify(join(PROJECT_ROOT, 'src', 'evidence', 'signing-key.ts'))}; console.log(loadOrCreateSigningKey({ dataDir: ${JSON.stringify(shared)} }).keyId);`;
    const starts = Array.from({ length: 4 }, () => new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', program], { cwd: PROJECT_ROOT }, (error, stdout) => (error ? reject(error) : resolve(stdout.trim())));
    }));
    const keyIds = await Promise.all(starts);
    expect(new Set(keyIds).size).toBe(1);
    expect(keyIds[0]).toBe(loadOrCreateSigningKey({ dataDir: shared }).keyId);
    expect(readdirSync(join(shared, 'keys')).sort()).toEqual(['receipt-signing.key', 'receipt-signing.pub']);
  });

  it('is the configured PEM file when one is named, and must be Ed25519', () => {
    const configured = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const path = join(dataDir, 'configured.pem');
    writeFileSync(path, configured);
    expect(loadOrCreateSigningKey({ dataDir, privateKeyPath: path }).keyId).not.toBe(key.keyId);

    writeFileSync(path, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    expect(() => loadOrCreateSigningKey({ dataDir, privateKeyPath: path })).toThrow(expect.objectContaining({ code: 'evidence.key_invalid' }));
    expect(() => loadOrCreateSigningKey({ dataDir, privateKeyPath: join(dataDir, 'missing.pem') })).toThrow(expect.objectContaining({ code: 'evidence.key_unreadable' }));
  });
});

describe('a signed receipt statement', () => {
  it('names the sender, the time, the content hashes, the departments, the previous entry and the issuing key', () => {
    expect(receipt.statement).toMatchObject({
      type: 'wasl.registration',
      version: 2,
      number: '2026-A-000001',
      registeredAt: '2026-03-14T09:26:53.589Z',
      sender: { id: 'fatima.zahra@example.ma', name: 'فاطمة الزهراء بنعلي' },
      departments: ['RH', 'URB'],
      original: { sha256: FIRST_LETTER.original.sha256, size: LETTER_BYTES.length },
      previousEntryHash: 'ab'.repeat(32),
      keyId: key.keyId,
      office: { domain: 'wasl.local' },
    });
    expect(receipt.statement.entryHash).toBe(entryHashOf(receipt.statement));
    expect(receipt.canonicalStatement).toBe(canonicalJson(receipt.statement));
  });

  it('verifies against the office public key, and proves which letter and attachment it covers', () => {
    const json = receiptJson(receipt.statement);
    expect(verifyReceipt({ receipt: json, publicKeyPem: key.publicKeyPem })).toMatchObject({ ok: true, format: 'json', statement: { number: '2026-A-000001' } });
    const withLetter = verifyReceipt({ receipt: json, publicKeyPem: key.publicKeyPem, letterBytes: LETTER_BYTES });
    expect(withLetter.ok).toBe(true);
    expect(withLetter.checks.find((check) => check.name === 'letter')?.detail).toMatch(/original registered as 2026-A-000001/);
    expect(verifyReceipt({ receipt: json, publicKeyPem: key.publicKeyPem, letterBytes: ATTACHMENT_BYTES }).checks.at(-1)).toMatchObject({ name: 'letter', passed: true });
  });

  it('verifies also when the JSON was pretty-printed, since the signature covers the canonical form', () => {
    const pretty = Buffer.from(JSON.stringify(JSON.parse(receiptJson(receipt.statement).toString()), null, 2));
    expect(verifyReceipt({ receipt: pretty, publicKeyPem: key.publicKeyPem }).ok).toBe(true);
  });

  it('fails after any single field is changed, whichever it is', () => {
    const paths = leaves(receipt.statement);
    expect(paths.length).toBeGreaterThan(25);
    for (const path of paths) {
      const verdict = verifyReceipt({ receipt: receiptJson(withChanged(receipt.statement, path)), publicKeyPem: key.publicKeyPem });
      expect(verdict.checks.find((check) => check.name === 'signature'), path.join('.')).toMatchObject({ passed: false });
      expect(verdict.ok, path.join('.')).toBe(false);
    }
  });

  it('fails when a field is added or removed', () => {
    const { subject: _subject, ...withoutSubject } = receipt.statement;
    for (const statement of [withoutSubject, { ...receipt.statement, note: 'added later' }]) {
      expect(verifyReceipt({ receipt: receiptJson(statement), publicKeyPem: key.publicKeyPem }).ok).toBe(false);
    }
  });

  it('fails against another key, saying the key differs', () => {
    const other = loadOrCreateSigningKey({ dataDir: join(dataDir, 'other') });
    const verdict = verifyReceipt({ receipt: receiptJson(receipt.statement), publicKeyPem: other.publicKeyPem });
    expect(verdict.ok).toBe(false);
    expect(verdict.checks.filter((check) => !check.passed).map((check) => check.name)).toEqual(['key', 'signature']);
  });

  it('fails the letter check for a file that is not the registered letter, while the signature still holds', () => {
    const verdict = verifyReceipt({ receipt: receiptJson(receipt.statement), publicKeyPem: key.publicKeyPem, letterBytes: Buffer.concat([LETTER_BYTES, Buffer.from(' ')]) });
    expect(verdict.ok).toBe(false);
    expect(verdict.checks.find((check) => check.name === 'signature')?.passed).toBe(true);
    expect(verdict.checks.find((check) => check.name === 'letter')).toMatchObject({ passed: false, detail: expect.stringMatching(/neither the original of 2026-A-000001/) });
  });

  it('says plainly when the file is not a receipt at all', () => {
    const verdict = verifyReceipt({ receipt: Buffer.from('hello'), publicKeyPem: key.publicKeyPem });
    expect(verdict).toMatchObject({ ok: false, checks: [{ name: 'readable', passed: false }] });
  });
});
