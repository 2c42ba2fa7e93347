/**
 * The A4 PDF receipt: what a sender prints or files. It shows the signed statement's facts in one
 * language, a QR code that opens the receipt page, and it carries the statement itself as two
 * embedded files (ISO 32000 §7.11.4), so the PDF alone is enough to check it:
 * - `statement.json`: the canonical statement, the exact bytes that were signed;
 * - `statement.sig`: the raw 64-byte Ed25519 signature.
 * `pdfdetach -saveall` or any reader's attachment panel gives them back; `wasl verify` reads them.
 *
 * The font is IBM Plex Sans Arabic (OFL, from npm): one family for Arabic and Latin text, so a
 * French receipt can show an Arabic name and an Arabic one an e-mail address.
 */
import { createRequire } from 'node:module';
import PDFDocument from 'pdfkit';
import QRCode from 'qrcode';
import { isRightToLeft, type Language } from '../config/config.schema.js';
import { WaslError } from '../errors.js';
import { displayFilename } from '../letters/attachment-names.js';
import { formatDateTime } from '../letters/letters.models.js';
import { DISPLAY_LENGTH, forDisplay } from '../templates/display-text.js';
import { isolate, leftToRight, visualRuns, wrapText, type TextDirection } from './bidi-text.js';
import { SIGNATURE_FILE_NAME, STATEMENT_FILE_NAME } from './pdf-statement.js';
import type { ReceiptPdfLabels } from './receipt-pdf-labels.js';
import { readStatement, type ReceiptStatement, type SenderAuthenticationEntry } from './statement.js';

export interface ReceiptPdfInput {
  /** The statement exactly as signed (canonical JSON) and its base64url signature, as the register stores them. */
  canonicalStatement: string;
  signatureValue: string;
  language: Language;
  /** IANA zone for the times shown (the statement keeps UTC). */
  timezone: string;
  labels: ReceiptPdfLabels;
  /** The channel's name in this language (`channelName.<channel>`); the code when absent. */
  channelName?: string | undefined;
  /** Department names in this language by code; the code when absent. */
  departmentNames?: Record<string, string> | undefined;
  /** Where the office publishes its public key: `{publicUrl}/.well-known/wasl-receipt-key.pem`. */
  publicKeyUrl: string;
}

const fontPackage = createRequire(import.meta.url);
const FONTS = {
  regular: fontPackage.resolve('@expo-google-fonts/ibm-plex-sans-arabic/400Regular/IBMPlexSansArabic_400Regular.ttf'),
  bold: fontPackage.resolve('@expo-google-fonts/ibm-plex-sans-arabic/700Bold/IBMPlexSansArabic_700Bold.ttf'),
};

const PAGE = { margin: 48, labelWidth: 150, gap: 12, qrSize: 108 };
const INK = '#111111';
const MUTED = '#555555';
/** Hand the whole run to fontkit: pdfkit otherwise lays out word by word, which breaks right-to-left order. */
const WHOLE_RUN = { features: [] as never[] };

export async function renderReceiptPdf(input: ReceiptPdfInput): Promise<Buffer> {
  const statement = readStatement(JSON.parse(input.canonicalStatement));
  if (!statement) throw new WaslError('evidence.statement_invalid', 'the stored statement is not a wasl registration statement');
  const registeredAt = new Date(statement.registeredAt);

  const doc = new PDFDocument({
    size: 'A4',
    margin: PAGE.margin,
    lang: input.language,
    displayTitle: true,
    info: { Title: `${input.labels.heading} ${statement.number}`, Author: statement.office.name[input.language] ?? statement.office.domain, Subject: statement.number, CreationDate: registeredAt },
  });
  const done = collect(doc);
  doc.registerFont('regular', FONTS.regular);
  doc.registerFont('bold', FONTS.bold);
  doc.file(Buffer.from(input.canonicalStatement, 'utf8'), { name: STATEMENT_FILE_NAME, type: 'application/json', description: 'Signed statement (RFC 8785 canonical JSON)', creationDate: registeredAt, modifiedDate: registeredAt });
  doc.file(Buffer.from(input.signatureValue, 'base64url'), { name: SIGNATURE_FILE_NAME, type: 'application/octet-stream', description: 'Ed25519 signature of statement.json', creationDate: registeredAt, modifiedDate: registeredAt });

  const page = new PageWriter({ doc, direction: isRightToLeft(input.language) ? 'rtl' : 'ltr' });
  drawHeader({ page, statement, input });
  drawFacts({ page, statement, input, registeredAt });
  drawEvidence({ page, statement, input });
  doc.end();
  return done;
}

function drawHeader({ page, statement, input }: { page: PageWriter; statement: ReceiptStatement; input: ReceiptPdfInput }) {
  const { labels } = input;
  const textWidth = page.width - PAGE.qrSize - PAGE.gap * 2;
  const top = page.y;
  page.paragraph({ text: statement.office.name[input.language] ?? statement.office.domain, font: 'bold', size: 17, width: textWidth });
  page.paragraph({ text: labels.heading, font: 'bold', size: 13, width: textWidth, color: MUTED });
  page.space(4);
  page.paragraph({ text: labels.intro, font: 'regular', size: 9.5, width: textWidth, color: MUTED });
  const textBottom = page.y;

  const qrLeft = page.direction === 'rtl' ? page.left : page.right - PAGE.qrSize;
  drawQrCode({ doc: page.doc, text: statement.receiptUrl, x: qrLeft, y: top, size: PAGE.qrSize });
  page.y = top + PAGE.qrSize + 2;
  page.paragraph({ text: labels.scan, font: 'regular', size: 7.5, width: PAGE.qrSize, color: MUTED, at: qrLeft, align: 'center' });
  page.y = Math.max(textBottom, page.y) + 10;
  page.rule();
}

function drawFacts({ page, statement, input, registeredAt }: { page: PageWriter; statement: ReceiptStatement; input: ReceiptPdfInput; registeredAt: Date }) {
  const { labels } = input;
  // Names and subjects keep their own direction; identifiers always read left to right, also in Arabic.
  // What the sender chose is shown bounded (the embedded statement keeps it whole): see display-text.ts.
  const address = leftToRight(`<${forDisplay(statement.sender.id, DISPLAY_LENGTH.address)}>`);
  page.row({ label: labels.number, value: leftToRight(statement.number), font: 'bold', size: 14 });
  page.row({ label: labels.registeredAt, value: formatDateTime({ date: registeredAt, timezone: input.timezone, language: input.language }) });
  page.row({ label: labels.channel, value: input.channelName ?? statement.channel });
  page.row({ label: labels.sender, value: statement.sender.name ? `${isolate(forDisplay(statement.sender.name, DISPLAY_LENGTH.name))} ${address}` : address });
  // Statements of version 1 made no claim about the sender: their PDF shows none.
  if (statement.version !== 1) page.row({ label: labels.senderCheck.label, value: senderCheckLine({ authentication: statement.sender.authentication, labels }) });
  page.row({ label: labels.subject, value: statement.subject === null ? labels.noSubject : isolate(forDisplay(statement.subject, DISPLAY_LENGTH.subject)) });
  const departmentName = (code: string) => forDisplay(input.departmentNames?.[code] ?? code, DISPLAY_LENGTH.name);
  page.row({ label: labels.departments, value: statement.departments.map(departmentName).join(input.language === 'ar' ? '، ' : ', ') });
  page.row({ label: labels.sha256, value: leftToRight(statement.original.sha256), size: 8.5 });
  statement.attachments.forEach((attachment, index) => {
    // As the receipt page shows it: a right-to-left override must not turn `invoice\u202Efdp.exe` into "invoiceexe.pdf".
    const name = isolate(displayFilename({ filename: attachment.filename ?? undefined, position: index }));
    const contentType = leftToRight(forDisplay(attachment.contentType, DISPLAY_LENGTH.contentType));
    page.row({ label: index === 0 ? labels.attachments : '', value: `${name} · ${contentType} · ${attachment.size} ${labels.bytes}`, size: 9.5 });
    page.row({ label: '', value: leftToRight(attachment.sha256), size: 8.5 });
  });
  page.rule();
}

/** The signed verdict in words, with what it rests on: the checks of an email, the platform of a chat account. */
function senderCheckLine({ authentication, labels }: { authentication: SenderAuthenticationEntry | null; labels: ReceiptPdfLabels }): string {
  if (authentication === null) return labels.senderCheck.unverified;
  if (authentication.verdict === 'platform') return authentication.authority ? `${labels.senderCheck.platform} (${leftToRight(authentication.authority)})` : labels.senderCheck.platform;
  const dkim = authentication.dkim.length === 0 ? 'none' : authentication.dkim.map((signature) => signature.result).join(', ');
  const checks = leftToRight(`SPF ${authentication.spf.result}, DKIM ${dkim}, DMARC ${authentication.dmarc.result}`);
  return `${labels.senderCheck[authentication.verdict]} (${checks})`;
}

function drawEvidence({ page, statement, input }: { page: PageWriter; statement: ReceiptStatement; input: ReceiptPdfInput }) {
  const { labels } = input;
  page.row({ label: labels.entryHash, value: leftToRight(statement.entryHash), size: 8.5 });
  page.row({ label: labels.previousEntryHash, value: statement.previousEntryHash === null ? labels.firstEntry : leftToRight(statement.previousEntryHash), size: 8.5 });
  page.row({ label: labels.keyId, value: leftToRight(statement.keyId), size: 8.5 });
  page.row({ label: labels.signature, value: leftToRight(input.signatureValue), size: 7.5 });
  page.space(6);
  page.paragraph({ text: labels.evidence, font: 'regular', size: 8.5, width: page.width, color: MUTED });
  page.paragraph({ text: leftToRight(input.publicKeyUrl), font: 'regular', size: 8, width: page.width, color: MUTED });
  page.paragraph({ text: leftToRight(statement.receiptUrl), font: 'regular', size: 8, width: page.width, color: MUTED });
}

/** Vector modules, so the code stays sharp at any zoom and prints crisply; the quiet zone is 4 modules (ISO/IEC 18004 §6.3.8). */
function drawQrCode({ doc, text, x, y, size }: { doc: PDFKit.PDFDocument; text: string; x: number; y: number; size: number }) {
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const quiet = 4;
  const cell = size / (modules.size + quiet * 2);
  doc.save().rect(x, y, size, size).fill('#ffffff');
  for (let row = 0; row < modules.size; row++) {
    for (let column = 0; column < modules.size; column++) {
      if (modules.data[row * modules.size + column]) doc.rect(x + (column + quiet) * cell, y + (row + quiet) * cell, cell, cell);
    }
  }
  doc.fill('#000000').restore();
}

/** Lays text out line by line from the start side of the page (the right in Arabic), adding pages as needed. */
class PageWriter {
  readonly doc: PDFKit.PDFDocument;
  readonly direction: TextDirection;
  readonly left: number;
  readonly right: number;
  readonly width: number;
  y: number;

  constructor({ doc, direction }: { doc: PDFKit.PDFDocument; direction: TextDirection }) {
    this.doc = doc;
    this.direction = direction;
    this.left = PAGE.margin;
    this.right = doc.page.width - PAGE.margin;
    this.width = this.right - this.left;
    this.y = PAGE.margin;
  }

  space(points: number) {
    this.y += points;
  }

  rule() {
    this.y += 4;
    this.doc.save().moveTo(this.left, this.y).lineTo(this.right, this.y).lineWidth(0.6).strokeColor('#999999').stroke().restore();
    this.y += 8;
  }

  /** A label in the start column and its value beside it. */
  row({ label, value, font = 'regular', size = 10.5 }: { label: string; value: string; font?: 'regular' | 'bold'; size?: number }) {
    const valueWidth = this.width - PAGE.labelWidth - PAGE.gap;
    const labelAt = this.direction === 'rtl' ? this.right - PAGE.labelWidth : this.left;
    const valueAt = this.direction === 'rtl' ? this.left : this.left + PAGE.labelWidth + PAGE.gap;
    const lines = this.wrap({ text: value, font, size, width: valueWidth });
    this.ensureRoom(lines.length * lineHeight(size));
    const top = this.y;
    if (label) this.paragraph({ text: label, font: 'bold', size: 9.5, width: PAGE.labelWidth, color: MUTED, at: labelAt });
    const labelBottom = this.y;
    this.y = top;
    this.drawLines({ lines, font, size, width: valueWidth, at: valueAt, color: INK, align: 'start' });
    this.y = Math.max(this.y, labelBottom) + 3;
  }

  paragraph({
    text,
    font,
    size,
    width,
    color = INK,
    at = this.direction === 'rtl' ? this.right - width : this.left,
    align = 'start',
  }: {
    text: string;
    font: 'regular' | 'bold';
    size: number;
    width: number;
    color?: string;
    at?: number;
    align?: 'start' | 'center';
  }) {
    const lines = this.wrap({ text, font, size, width });
    this.ensureRoom(lines.length * lineHeight(size));
    this.drawLines({ lines, font, size, width, at, color, align });
  }

  private wrap({ text, font, size, width }: { text: string; font: string; size: number; width: number }): string[] {
    this.doc.font(font).fontSize(size);
    return wrapText({ text, width, measure: (part) => this.doc.widthOfString(part, WHOLE_RUN) });
  }

  private drawLines({ lines, font, size, width, at, color, align }: { lines: string[]; font: string; size: number; width: number; at: number; color: string; align: 'start' | 'center' }) {
    this.doc.font(font).fontSize(size).fillColor(color);
    for (const line of lines) {
      const runs = visualRuns({ text: line, direction: this.direction });
      const widths = runs.map((run) => this.doc.widthOfString(run, WHOLE_RUN));
      const total = widths.reduce((sum, runWidth) => sum + runWidth, 0);
      let x = align === 'center' ? at + (width - total) / 2 : this.direction === 'rtl' ? at + width - total : at;
      runs.forEach((run, index) => {
        this.doc.text(run, x, this.y, { ...WHOLE_RUN, lineBreak: false });
        x += widths[index]!;
      });
      this.y += lineHeight(size);
    }
  }

  private ensureRoom(height: number) {
    if (this.y + height <= this.doc.page.height - PAGE.margin) return;
    this.doc.addPage();
    this.y = PAGE.margin;
  }
}

/** Arabic needs room above and below the Latin line for its marks and descenders. */
function lineHeight(size: number): number {
  return size * 1.55;
}

function collect(doc: PDFKit.PDFDocument): Promise<Buffer> {
  const chunks: Buffer[] = [];
  return new Promise((resolve, reject) => {
    doc.on('data', (chunk: Buffer) => chunks.push(chunk));
    doc.on('end', () => resolve(Buffer.concat(chunks)));
    doc.on('error', reject);
  });
}
