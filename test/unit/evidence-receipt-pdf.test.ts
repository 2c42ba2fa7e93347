import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import PDFDocument from 'pdfkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/evidence/canonical-json.js';
import { createPdfRenderer } from '../../src/evidence/pdf-renderer.js';
import { embeddedFiles, extractSignedStatement } from '../../src/evidence/pdf-statement.js';
import { renderReceiptPdf } from '../../src/evidence/receipt-pdf.js';
import { loadOrCreateSigningKey } from '../../src/evidence/signing-key.js';
import type { SignedReceipt } from '../../src/evidence/statement.js';
import { verifyReceipt } from '../../src/evidence/verify.js';
import { PROJECT_ROOT } from '../../src/paths.js';
import { DISPLAY_LENGTH, ELLIPSIS } from '../../src/templates/display-text.js';
import { ATTACHMENT_BYTES, FIRST_LETTER, LANGUAGES, LETTER_BYTES, pdfInput, receiptUrlOf, signedReceipt, type Language } from '../fixtures/evidence/sample-receipts.js';

const hasTool = (name: string) => spawnSync('sh', ['-c', `command -v ${name}`]).status === 0;
const POPPLER = hasTool('pdftoppm') && hasTool('pdftotext');
const ZBAR = hasTool('zbarimg');
const MISSING_POPPLER = 'needs pdftoppm and pdftotext (apt package poppler-utils)';
const MISSING_ZBAR = 'needs zbarimg (apt package zbar-tools)';

const workDir = mkdtempSync(join(tmpdir(), 'wasl-receipt-pdf-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));
const key = loadOrCreateSigningKey({ dataDir: workDir });
const receipt = signedReceipt({ facts: FIRST_LETTER, previousEntryHash: null, key });
const pdfs = {} as Record<Language, Buffer>;

beforeAll(async () => {
  for (const language of LANGUAGES) pdfs[language] = await renderReceiptPdf(pdfInput({ receipt, language }));
});

/** The first page as a PNG, the way a person sees it. */
function renderPage({ pdf, name, dpi }: { pdf: Buffer; name: string; dpi: number }): string {
  const pdfPath = join(workDir, `${name}.pdf`);
  writeFileSync(pdfPath, pdf);
  execFileSync('pdftoppm', ['-r', String(dpi), '-png', '-singlefile', '-f', '1', pdfPath, join(workDir, name)]);
  return join(workDir, `${name}.png`);
}

function textOf(pdf: Buffer): string {
  const pdfPath = join(workDir, 'text.pdf');
  writeFileSync(pdfPath, pdf);
  return execFileSync('pdftotext', ['-raw', pdfPath, '-'], { encoding: 'utf8' });
}

describe('the PDF receipt', () => {
  it('verifies on its own: the signed statement travels inside it', () => {
    for (const language of LANGUAGES) {
      const verdict = verifyReceipt({ receipt: pdfs[language], publicKeyPem: key.publicKeyPem, letterBytes: LETTER_BYTES });
      expect(verdict, language).toMatchObject({ ok: true, format: 'pdf', statement: { number: '2026-A-000001' } });
      expect(verdict.checks.map((check) => check.name)).toEqual(['readable', 'statement', 'key', 'signature', 'letter']);
    }
    expect(verifyReceipt({ receipt: pdfs.fr, publicKeyPem: key.publicKeyPem, letterBytes: ATTACHMENT_BYTES }).ok).toBe(true);
  });

  it('carries the exact signed bytes and the raw signature as attached files', () => {
    const files = embeddedFiles(pdfs.ar);
    expect([...files.keys()].sort()).toEqual(['statement.json', 'statement.sig']);
    expect(files.get('statement.json')!.toString('utf8')).toBe(receipt.canonicalStatement);
    expect(files.get('statement.sig')!.toString('base64url')).toBe(receipt.signature.value);
  });

  it('fails verification when its statement was changed and the old signature kept', async () => {
    const forged: SignedReceipt = { ...receipt, canonicalStatement: canonicalJson({ ...receipt.statement, subject: 'Demande retirée' }) };
    const pdf = await renderReceiptPdf(pdfInput({ receipt: forged, language: 'fr' }));
    const verdict = verifyReceipt({ receipt: pdf, publicKeyPem: key.publicKeyPem });
    expect(verdict.ok).toBe(false);
    expect(verdict.checks.find((check) => check.name === 'signature')?.passed).toBe(false);
    expect(verdict.statement?.subject).toBe('Demande retirée');
  });

  it('is told apart from a PDF that carries no statement', async () => {
    const doc = new PDFDocument();
    const chunks: Buffer[] = [];
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = new Promise((resolve) => doc.on('end', resolve));
    doc.text('Just a letter');
    doc.end();
    await ended;
    const pdf = Buffer.concat(chunks);
    expect(() => extractSignedStatement(pdf)).toThrow(expect.objectContaining({ code: 'evidence.no_statement' }));
    expect(verifyReceipt({ receipt: pdf, publicKeyPem: key.publicKeyPem })).toMatchObject({ ok: false, checks: [{ name: 'readable', passed: false }] });
  });

  it('is told apart, without hanging, from a PDF cut short inside a stream or made of dictionaries that never close', () => {
    const cutShort = Buffer.from('%PDF-1.4\n1 0 obj << /Length 5 0 R >>\nstream\nthe rest is missing');
    // 100,000 objects, each opening a dictionary (or a string) inside the previous one: read again from each, that was minutes.
    const unclosedDictionaries = Buffer.from(`%PDF-1.4\n${'1 0 obj <<\n'.repeat(100_000)}`);
    const unclosedStrings = Buffer.from(`%PDF-1.4\n${'1 0 obj << (\n'.repeat(100_000)}`);
    for (const pdf of [cutShort, unclosedDictionaries, unclosedStrings]) {
      expect(() => extractSignedStatement(pdf)).toThrow(expect.objectContaining({ code: 'evidence.no_statement' }));
      expect(verifyReceipt({ receipt: pdf, publicKeyPem: key.publicKeyPem })).toMatchObject({ ok: false, checks: [{ name: 'readable', passed: false }] });
    }
  });

  it.skipIf(!POPPLER || !ZBAR)(`has a QR code that scans to the receipt page${!POPPLER || !ZBAR ? ` (skipped: ${[!POPPLER && MISSING_POPPLER, !ZBAR && MISSING_ZBAR].filter(Boolean).join('; ')})` : ''}`, () => {
    for (const language of ['ar', 'en'] as const) {
      const png = renderPage({ pdf: pdfs[language], name: `qr-${language}`, dpi: 150 });
      const decoded = execFileSync('zbarimg', ['-q', '--raw', png], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      expect(decoded).toBe(receiptUrlOf('2026-A-000001'));
    }
  });

  it.skipIf(!POPPLER)(`reads in each language, with the facts of the statement${POPPLER ? '' : ` (skipped: ${MISSING_POPPLER})`}`, () => {
    // Times are shown in the office's zone: Morocco keeps UTC+0 during Ramadan (mid-March 2026), UTC+1 otherwise.
    const fr = textOf(pdfs.fr);
    expect(fr).toContain("Accusé de réception et d'enregistrement");
    expect(fr).toContain("Numéro d'enregistrement");
    expect(fr).toContain('14 mars 2026 à 09:26:53 (Africa/Casablanca)');
    const en = textOf(pdfs.en);
    expect(en).toContain('Receipt of registration');
    expect(en).toContain('Human resources, Urban planning');
    expect(en).toContain('14 March 2026 at 09:26:53 (Africa/Casablanca)');
    // Poppler gives Arabic back in reading order word by word (ligatures aside); the page itself is checked by eye (docs/receipt-ar.png).
    const ar = textOf(pdfs.ar);
    expect(ar).toContain('رقم');
    expect(ar).toContain('المرسل');
    expect(ar).toMatch(/فاطمة/);
    for (const text of [fr, en, ar]) {
      expect(text).toContain('2026-A-000001');
      expect(text).toContain(FIRST_LETTER.original.sha256);
      expect(text).toContain(receipt.statement.entryHash);
    }
  });

  it.skipIf(!POPPLER)(`renders a page per language${POPPLER ? '' : ` (skipped: ${MISSING_POPPLER})`}`, () => {
    for (const language of LANGUAGES) {
      const png = readFileSync(renderPage({ pdf: pdfs[language], name: `page-${language}`, dpi: 60 }));
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      // README pictures are refreshed on request only, so a test run never changes the tree.
      if (process.env.WASL_WRITE_DOCS === '1') {
        mkdirSync(join(PROJECT_ROOT, 'docs'), { recursive: true });
        writeFileSync(join(PROJECT_ROOT, 'docs', `receipt-${language}.png`), readFileSync(renderPage({ pdf: pdfs[language], name: `docs-${language}`, dpi: 80 })));
      }
    }
  });

  it.skipIf(!POPPLER)(`shows what the sender chose bounded, with an ellipsis, and signs it whole${POPPLER ? '' : ` (skipped: ${MISSING_POPPLER})`}`, async () => {
    const subject = 'S'.repeat(100_000);
    const name = 'N'.repeat(10_000);
    const contentType = `application/${'x'.repeat(5_000)}`;
    const long = signedReceipt({
      facts: { ...FIRST_LETTER, subject, sender: { id: 'long@example.ma', name }, attachments: [{ ...FIRST_LETTER.attachments[0]!, contentType }] },
      previousEntryHash: null,
      key,
    });
    const pdf = await renderReceiptPdf(pdfInput({ receipt: long, language: 'en' }));
    const text = textOf(pdf).replace(/\s+/g, '');
    expect(text).toContain(`${'S'.repeat(DISPLAY_LENGTH.subject - 1)}${ELLIPSIS}`);
    expect(text).not.toContain('S'.repeat(DISPLAY_LENGTH.subject));
    expect(text).toContain(`${'N'.repeat(DISPLAY_LENGTH.name - 1)}${ELLIPSIS}`);
    expect(text).not.toContain('N'.repeat(DISPLAY_LENGTH.name));
    expect(text).toContain(`${contentType.slice(0, DISPLAY_LENGTH.contentType - 1)}${ELLIPSIS}`);
    expect(extractSignedStatement(pdf).canonicalStatement).toBe(long.canonicalStatement);
  });
});

describe('the PDF renderer', () => {
  it('renders on a worker thread the same receipt as in place', async () => {
    const renderer = createPdfRenderer({ timeoutMs: 60_000 });
    try {
      const pdf = await renderer.render(pdfInput({ receipt, language: 'fr' }));
      expect(verifyReceipt({ receipt: pdf, publicKeyPem: key.publicKeyPem, letterBytes: LETTER_BYTES })).toMatchObject({ ok: true, format: 'pdf' });
    } finally {
      await renderer.close();
    }
  });

  it('stops at once when the gateway stops during a render, failing that render as temporary', async () => {
    const renderer = createPdfRenderer({ timeoutMs: 60_000 });
    const rendering = expect(renderer.render(pdfInput({ receipt, language: 'ar' }))).rejects.toMatchObject({ code: 'evidence.pdf_renderer_closed', temporary: true });
    await renderer.close();
    await rendering;
    await expect(renderer.render(pdfInput({ receipt, language: 'ar' }))).rejects.toMatchObject({ code: 'evidence.pdf_renderer_closed' });
  });

  it('fails a render past its time limit as temporary, and renders the next one in a fresh worker', async () => {
    const renderer = createPdfRenderer({ timeoutMs: 1 });
    try {
      await expect(renderer.render(pdfInput({ receipt, language: 'en' }))).rejects.toMatchObject({ code: 'evidence.pdf_timeout', temporary: true });
      await expect(renderer.render(pdfInput({ receipt, language: 'en' }))).rejects.toMatchObject({ code: 'evidence.pdf_timeout' });
    } finally {
      await renderer.close();
    }
  });
});
