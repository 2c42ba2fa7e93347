/**
 * Reads the embedded files back out of a receipt PDF (ISO 32000-1 §7.11.4): file specifications
 * (`/Type /Filespec /F (name) /EF << /F n 0 R >>`) pointing at `/Type /EmbeddedFile` streams.
 *
 * A reader for the PDFs wasl writes, not a general PDF parser: objects are read in file order,
 * stream data is skipped by its direct `/Length` so bytes inside a compressed stream are never
 * taken for objects, and `/FlateDecode` is the only filter. A PDF rewritten by another tool into
 * object streams (PDF 1.5 §7.5.7) is not read; `pdfdetach` still extracts its files.
 */
import { inflateSync } from 'node:zlib';
import { WaslError } from '../errors.js';

/** The names under which `renderReceiptPdf` embeds the signed bytes and the raw signature. */
export const STATEMENT_FILE_NAME = 'statement.json';
export const SIGNATURE_FILE_NAME = 'statement.sig';

interface PdfObject {
  dictionary: string;
  stream: Buffer | undefined;
}

export function isPdf(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 5)).toString('latin1') === '%PDF-';
}

/** The PDF's embedded files by name. */
export function embeddedFiles(pdf: Uint8Array): Map<string, Buffer> {
  const objects = readObjects(Buffer.from(pdf.buffer, pdf.byteOffset, pdf.byteLength));
  const files = new Map<string, Buffer>();
  for (const object of objects.values()) {
    if (!/\/Type\s*\/Filespec\b/.test(object.dictionary)) continue;
    const name = /\/UF\s*\(((?:[^()\\]|\\.)*)\)/.exec(object.dictionary)?.[1] ?? /\/F\s*\(((?:[^()\\]|\\.)*)\)/.exec(object.dictionary)?.[1];
    const reference = /\/EF\s*<<[^>]*\/F\s+(\d+)\s+\d+\s+R/.exec(object.dictionary)?.[1];
    const file = reference === undefined ? undefined : objects.get(Number(reference));
    if (name === undefined || !file?.stream) continue;
    files.set(unescapeLiteral(name), decodeStream(file));
  }
  return files;
}

/** The signed statement and its raw signature, as embedded by `renderReceiptPdf`. */
export function extractSignedStatement(pdf: Uint8Array): { canonicalStatement: string; signature: Buffer } {
  const files = embeddedFiles(pdf);
  const statement = files.get(STATEMENT_FILE_NAME);
  const signature = files.get(SIGNATURE_FILE_NAME);
  if (!statement || !signature) {
    throw new WaslError('evidence.no_statement', `the PDF carries no ${STATEMENT_FILE_NAME} and ${SIGNATURE_FILE_NAME}: it is not a wasl receipt, or it was rewritten by another program`);
  }
  return { canonicalStatement: statement.toString('utf8'), signature };
}

const OBJECT_START = /(\d+)\s+\d+\s+obj\b/g;

function readObjects(pdf: Buffer): Map<number, PdfObject> {
  const text = pdf.toString('latin1');
  const objects = new Map<number, PdfObject>();
  OBJECT_START.lastIndex = 0;
  for (let match = OBJECT_START.exec(text); match; match = OBJECT_START.exec(text)) {
    const bodyStart = match.index + match[0].length;
    const dictionary = dictionaryAt(text, bodyStart);
    // Every later object lies inside one that never closes: reading each again would cost the rest
    // of the file each time (minutes for a hostile megabyte); wasl never writes one, so stop here.
    if (dictionary === 'unterminated') break;
    if (dictionary === undefined) continue;
    const afterDictionary = dictionary.end;
    const streamKeyword = /^\s*stream\r?\n/.exec(text.slice(afterDictionary, afterDictionary + 16));
    let stream: Buffer | undefined;
    if (streamKeyword) {
      const dataStart = afterDictionary + streamKeyword[0].length;
      const length = /\/Length\s+(\d+)(?!\s+\d+\s+R)/.exec(dictionary.text)?.[1];
      // Without a direct length the end is the keyword (or the file's end: a search from -1 would start over
      // forever); such streams are never ours, so only skipping them matters.
      const end = length === undefined ? text.indexOf('endstream', dataStart) : dataStart + Number(length);
      const dataEnd = end < 0 ? text.length : end;
      stream = pdf.subarray(dataStart, dataEnd);
      OBJECT_START.lastIndex = dataEnd;
    }
    objects.set(Number(match[1]), { dictionary: dictionary.text, stream });
  }
  return objects;
}

const DICTIONARY_OPENING = /\s*<</y;

/** The `<< ... >>` starting at `from` (after blanks), with nested dictionaries and literal strings skipped over. */
function dictionaryAt(text: string, from: number): { text: string; end: number } | 'unterminated' | undefined {
  DICTIONARY_OPENING.lastIndex = from;
  if (!DICTIONARY_OPENING.test(text)) return undefined;
  const start = DICTIONARY_OPENING.lastIndex - 2;
  let depth = 0;
  for (let index = start; index < text.length; index++) {
    const character = text[index];
    if (character === '(') {
      index = endOfLiteral(text, index);
    } else if (text.startsWith('<<', index)) {
      depth++;
      index++;
    } else if (text.startsWith('>>', index)) {
      depth--;
      index++;
      if (depth === 0) return { text: text.slice(start, index + 1), end: index + 1 };
    }
  }
  return 'unterminated';
}

/** Literal strings nest balanced parentheses and escape others with a backslash (ISO 32000-1 §7.3.4.2). */
function endOfLiteral(text: string, start: number): number {
  let depth = 0;
  for (let index = start; index < text.length; index++) {
    const character = text[index];
    if (character === '\\') index++;
    else if (character === '(') depth++;
    else if (character === ')' && --depth === 0) return index;
  }
  return text.length;
}

function unescapeLiteral(literal: string): string {
  return literal.replace(/\\([()\\])/g, '$1');
}

function decodeStream(object: PdfObject): Buffer {
  const data = object.stream!;
  const filter = /\/Filter\s*\/(\w+)/.exec(object.dictionary)?.[1];
  if (filter === undefined) return Buffer.from(data);
  if (filter !== 'FlateDecode') throw new WaslError('evidence.pdf_unsupported', `an embedded file uses the ${filter} filter, which wasl does not read`);
  return inflateSync(data);
}
