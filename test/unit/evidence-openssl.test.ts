/**
 * Runs the shell steps of src/evidence/README.md as written, so the documented way to check a
 * receipt without wasl stays true.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderReceiptPdf } from '../../src/evidence/receipt-pdf.js';
import { loadOrCreateSigningKey } from '../../src/evidence/signing-key.js';
import { formatReceiptJson } from '../../src/evidence/statement.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { FIRST_LETTER, LETTER_BYTES, pdfInput, signedReceipt } from '../fixtures/evidence/sample-receipts.js';

const hasTool = (name: string) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
const OPENSSL = hasTool('openssl');
const PDFDETACH = hasTool('pdfdetach');

const readme = readFileSync(join(PROJECT_ROOT, 'src', 'evidence', 'README.md'), 'utf8');
/** The shell block that follows `<!-- checked by test/unit/evidence-openssl.test.ts: NAME -->`. */
function documentedSteps(name: string): string {
  const match = new RegExp(`<!-- checked by test/unit/evidence-openssl\\.test\\.ts: ${name} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(readme);
  if (!match) throw new Error(`README.md has no block marked ${name}`);
  return match[1]!;
}

const workDir = mkdtempSync(join(tmpdir(), 'wasl-openssl-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));
const key = loadOrCreateSigningKey({ dataDir: join(workDir, 'data') });
const receipt = signedReceipt({ facts: FIRST_LETTER, previousEntryHash: null, key });
const receiptJson = formatReceiptJson({ canonicalStatement: receipt.canonicalStatement, signatureValue: receipt.signature.value });

/** A fresh folder holding what a person would have: the receipt, the published key, the letter. */
function runSteps({ steps, files }: { steps: string; files: Record<string, string | Buffer> }) {
  const folder = mkdtempSync(join(workDir, 'person-'));
  writeFileSync(join(folder, 'wasl-receipt-key.pem'), key.publicKeyPem);
  writeFileSync(join(folder, 'letter.eml'), LETTER_BYTES);
  for (const [name, content] of Object.entries(files)) writeFileSync(join(folder, name), content);
  const result = spawnSync('bash', ['-e', '-o', 'pipefail', '-c', steps], { cwd: folder, encoding: 'utf8' });
  return { status: result.status, output: result.stdout + result.stderr };
}

describe.skipIf(!OPENSSL)(`checking a receipt with OpenSSL alone, as the evidence README says${OPENSSL ? '' : ' (skipped: needs openssl)'}`, () => {
  it('verifies the JSON receipt', () => {
    const run = runSteps({ steps: documentedSteps('json'), files: { 'receipt.json': receiptJson } });
    expect(run.output).toContain('Signature Verified Successfully');
    expect(run.status).toBe(0);
  });

  it('fails on a JSON receipt whose statement was changed by one character', () => {
    const tampered = receiptJson.replace('"2026-A-000001"', '"2026-A-000007"');
    expect(tampered).not.toBe(receiptJson);
    const run = runSteps({ steps: documentedSteps('json'), files: { 'receipt.json': tampered } });
    expect(run.output).toContain('Signature Verification Failure');
    expect(run.status).not.toBe(0);
  });

  it.skipIf(!PDFDETACH)(`verifies the PDF receipt from its attachments${PDFDETACH ? '' : ' (skipped: needs pdfdetach, apt package poppler-utils)'}`, async () => {
    const pdf = await renderReceiptPdf(pdfInput({ receipt, language: 'ar' }));
    const run = runSteps({ steps: documentedSteps('pdf'), files: { 'receipt.pdf': pdf } });
    expect(run.output).toContain('Signature Verified Successfully');
    expect(run.status).toBe(0);
  });

  it("prints the key fingerprint that receipts name as keyId", () => {
    const run = runSteps({ steps: documentedSteps('fingerprint'), files: {} });
    expect(run.output.split(/\s/)[0]).toBe(key.keyId);
  });

  it("shows the letter's hash next to the one in the statement", () => {
    const run = runSteps({ steps: documentedSteps('json') + documentedSteps('letter'), files: { 'receipt.json': receiptJson } });
    const hashes = run.output.match(/[0-9a-f]{64}/g) ?? [];
    expect(hashes.filter((hash) => hash === FIRST_LETTER.original.sha256)).toHaveLength(2);
  });
});
