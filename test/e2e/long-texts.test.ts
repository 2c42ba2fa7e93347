/**
 * What a sender chooses has no length limit in the register, and the receipts that show it must
 * stay quick: a subject of 100,000 characters without a space once held the gateway (SMTP and
 * HTTP) for over 21 minutes on one GET of its PDF (issue 18).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DISPLAY_LENGTH, ELLIPSIS } from '../../src/templates/display-text.js';
import { gatewayPerTest, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { composeMessage } from '../helpers/messages.js';
import { sendLetter } from '../helpers/smtp-client.js';

const POPPLER = spawnSync('sh', ['-c', 'command -v pdftotext']).status === 0;
const MISSING_POPPLER = ' (skipped: needs pdftotext, apt package poppler-utils)';
const NOW = new Date('2026-03-14T09:26:53Z');
/** 100,000 characters and not one space; its beginning is recognisable. */
const LONG_SUBJECT = `Demande-${'0123456789'.repeat(10_000)}`.slice(0, 100_000);
/** An attachment name that a right-to-left override makes look like a PDF (it is `invoice` + `fdp.exe`). */
const DISGUISED_NAME = 'invoice\u202Efdp.exe';

const work = mkdtempSync(join(tmpdir(), 'wasl-long-texts-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function textOfPdf(pdf: Buffer, name: string): string {
  const file = join(work, `${name}.pdf`);
  writeFileSync(file, pdf);
  return execFileSync('pdftotext', ['-raw', file, '-'], { encoding: 'utf8' });
}

async function pdfOf(receiptUrl: string, language: string): Promise<{ status: number; pdf: Buffer }> {
  const response = await fetch(`${receiptUrl}.pdf?lang=${language}`);
  return { status: response.status, pdf: Buffer.from(await response.arrayBuffer()) };
}

async function send(test: TestGateway, { from, subject, attachments = [] }: { from: string; subject: string; attachments?: { filename: string; content: Buffer }[] }) {
  const message = await composeMessage({ from, to: 'rh@wasl.local', subject, text: 'Bonjour', attachments });
  const reply = await sendLetter({ port: test.smtpPort, from, to: ['rh@wasl.local'], message });
  const number = reply.data ? /\d{4}-A-\d{6}/.exec(reply.data.text)?.[0] : undefined;
  return { code: reply.data?.code, number, receiptUrl: number ? (await test.gateway.port.findLetter(number))!.receiptUrl : '' };
}

describe('a letter whose subject is 100,000 characters without a space', () => {
  let test: TestGateway;
  let letter: Awaited<ReturnType<typeof send>>;

  beforeAll(async () => {
    // Time limits are another test's subject: here a loaded machine may take its time.
    test = await startTestGateway({ now: () => NOW, config: { receipts: { pdfTimeoutMs: 300_000 } } });
    letter = await send(test, { from: 'long@citizen.test', subject: LONG_SUBJECT, attachments: [{ filename: DISGUISED_NAME, content: Buffer.from('MZ not a pdf') }] });
  });
  afterAll(() => test.stop());

  it('gets its 250, and the register and the JSON receipt keep the whole subject', async () => {
    expect(letter.code).toBe(250);
    expect((await test.gateway.port.findLetter(letter.number!))!.subject).toBe(LONG_SUBJECT);
    const json = (await (await fetch(`${letter.receiptUrl}.json`)).json()) as { letter: { subject: string }; statement: { subject: string } };
    expect(json.letter.subject).toBe(LONG_SUBJECT);
    expect(json.statement.subject).toBe(LONG_SUBJECT);
  });

  it('has a receipt page that shows the subject cut with an ellipsis', async () => {
    const response = await fetch(letter.receiptUrl);
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain(`${LONG_SUBJECT.slice(0, DISPLAY_LENGTH.subject - 1)}${ELLIPSIS}`);
    expect(html).not.toContain(LONG_SUBJECT.slice(0, DISPLAY_LENGTH.subject));
  });

  it.skipIf(!POPPLER)(`has a PDF that shows the subject cut with an ellipsis${POPPLER ? '' : MISSING_POPPLER}`, async () => {
    const { status, pdf } = await pdfOf(letter.receiptUrl, 'en');
    expect(status).toBe(200);
    // The subject is wrapped over several lines: read it without the line breaks.
    const text = textOfPdf(pdf, 'long-subject').replace(/\s+/g, '');
    expect(text).toContain(`${LONG_SUBJECT.slice(0, DISPLAY_LENGTH.subject - 1)}${ELLIPSIS}`);
    expect(text).not.toContain(LONG_SUBJECT.slice(0, DISPLAY_LENGTH.subject));
  });

  it.skipIf(!POPPLER)(`names in the PDF an attachment disguised by a right-to-left override as it really is${POPPLER ? '' : MISSING_POPPLER}`, async () => {
    for (const language of ['en', 'ar']) {
      const { status, pdf } = await pdfOf(letter.receiptUrl, language);
      expect(status).toBe(200);
      const text = textOfPdf(pdf, `disguised-${language}`);
      expect(text, language).toContain('invoicefdp.exe');
      expect(text, language).not.toContain('\u202E');
      expect(text, language).not.toContain('invoiceexe.pdf');
    }
  });

  it('takes another letter by SMTP while its PDFs render', async () => {
    const renders = ['ar', 'fr', 'en'].map((language) => pdfOf(letter.receiptUrl, language));
    const other = await send(test, { from: 'other@citizen.test', subject: 'Permis de construire' });
    expect(other.code).toBe(250);
    expect((await Promise.all(renders)).map(({ status, pdf }) => [status, pdf.subarray(0, 5).toString('latin1')])).toEqual(Array(3).fill([200, '%PDF-']));
  });
});

describe('a PDF receipt that takes longer than its time limit', () => {
  const start = gatewayPerTest();

  it('is answered 503 with a clear text, and the gateway serves the next request', async () => {
    // 1 ms: no render (a worker thread starting, then the layout) can finish in time.
    const test = await start({ now: () => NOW, config: { receipts: { pdfTimeoutMs: 1 } } });
    const letter = await send(test, { from: 'slow@citizen.test', subject: 'Attestation de travail' });
    expect(letter.code).toBe(250);

    const slow = await fetch(`${letter.receiptUrl}.pdf?lang=fr`);
    expect(slow.status).toBe(503);
    expect(slow.headers.get('retry-after')).toBe('10');
    expect(await slow.text()).toContain("L'accusé de réception en PDF n'a pas pu être préparé pour l'instant. Veuillez réessayer dans un moment");

    const page = await fetch(letter.receiptUrl);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Attestation de travail');
    expect((await fetch(`${letter.receiptUrl}.pdf?lang=en`)).status).toBe(503);
    const next = await send(test, { from: 'next@citizen.test', subject: 'Suite' });
    expect(next.code).toBe(250);
  });
});
