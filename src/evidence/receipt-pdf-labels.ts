/**
 * The words of a PDF receipt, read from the templates where the web server runs. Apart from
 * receipt-pdf.ts so that the gateway's main thread never loads the PDF libraries (pdfkit, fontkit,
 * fonts: seconds of loading): PDFs render on a worker thread (pdf-renderer.ts).
 */
import { WaslError } from '../errors.js';

/** The words of a receipt, in the receipt's language: `receipt.<key>` in templates/strings.<lang>.yaml. */
export const RECEIPT_PDF_LABEL_KEYS = [
  'heading',
  'intro',
  'number',
  'registeredAt',
  'channel',
  'sender',
  'subject',
  'noSubject',
  'departments',
  'sha256',
  'attachments',
  'bytes',
  'entryHash',
  'previousEntryHash',
  'firstEntry',
  'keyId',
  'signature',
  'evidence',
  'scan',
] as const;

/** The words of the sender's verdict line: `senderCheck.<key>`. */
const SENDER_CHECK_LABEL_KEYS = ['label', 'verified', 'unverified', 'platform'] as const;

export type ReceiptPdfLabels = Record<(typeof RECEIPT_PDF_LABEL_KEYS)[number], string> & {
  senderCheck: Record<(typeof SENDER_CHECK_LABEL_KEYS)[number], string>;
};

/** The receipt labels from a language's strings (`receipt.*`, `senderCheck.*`); a missing one is an error, not a blank on a legal document. */
export function receiptPdfLabels(strings: Record<string, unknown>): ReceiptPdfLabels {
  const receipt = (strings.receipt ?? {}) as Record<string, unknown>;
  const senderCheck = (strings.senderCheck ?? {}) as Record<string, unknown>;
  const missing = [
    ...RECEIPT_PDF_LABEL_KEYS.filter((key) => typeof receipt[key] !== 'string').map((key) => `receipt.${key}`),
    ...SENDER_CHECK_LABEL_KEYS.filter((key) => typeof senderCheck[key] !== 'string').map((key) => `senderCheck.${key}`),
  ];
  if (missing.length > 0) {
    throw new WaslError('templates.string_missing', `the strings lack ${missing.join(', ')}`, { details: { missing } });
  }
  return {
    ...(Object.fromEntries(RECEIPT_PDF_LABEL_KEYS.map((key) => [key, receipt[key] as string])) as Record<(typeof RECEIPT_PDF_LABEL_KEYS)[number], string>),
    senderCheck: Object.fromEntries(SENDER_CHECK_LABEL_KEYS.map((key) => [key, senderCheck[key] as string])) as ReceiptPdfLabels['senderCheck'],
  };
}
