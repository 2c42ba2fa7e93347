/**
 * Offline verification of a receipt, JSON or PDF, against the office's public key: what
 * `wasl verify FILE [--letter FILE]` reports. Each check is reported, passed or failed, so that a
 * person sees what holds (the signature) apart from what does not (a letter that is not the one
 * registered).
 *
 * What it proves: the office holding the private key signed this statement, unchanged since. What
 * it does not: that the printed page of a PDF says the same as its embedded statement; the
 * statement is the evidence, the page is its rendering.
 */
import { isWaslError, WaslError } from '../errors.js';
import { sha256Hex } from './sha256.js';
import { extractSignedStatement, isPdf, STATEMENT_FILE_NAME } from './pdf-statement.js';
import { keyIdOf, publicKeyFromPem } from './signing-key.js';
import { parseReceiptJson, readStatement, signatureHolds, type ReceiptStatement } from './statement.js';

export type ReceiptCheckName = 'readable' | 'statement' | 'key' | 'signature' | 'letter';

export interface ReceiptCheck {
  name: ReceiptCheckName;
  passed: boolean;
  detail: string;
}

export interface ReceiptVerdict {
  /** True when every check passed. */
  ok: boolean;
  format: 'json' | 'pdf';
  /** The statement's fields, when it could be read (also when its signature fails: to say what was claimed). */
  statement: ReceiptStatement | undefined;
  checks: ReceiptCheck[];
}

export function verifyReceipt({ receipt, publicKeyPem, letterBytes }: { receipt: Uint8Array; publicKeyPem: string; letterBytes?: Uint8Array | undefined }): ReceiptVerdict {
  const format = isPdf(receipt) ? 'pdf' : 'json';
  const publicKey = publicKeyFromPem(publicKeyPem);
  const checks: ReceiptCheck[] = [];
  const verdict = (statement: ReceiptStatement | undefined): ReceiptVerdict => ({ ok: checks.every((check) => check.passed), format, statement, checks });

  let signed: { statement: unknown; signature: Buffer };
  try {
    signed = readSigned({ receipt, format });
  } catch (error) {
    if (!isWaslError(error)) throw error;
    checks.push({ name: 'readable', passed: false, detail: error.message });
    return verdict(undefined);
  }
  checks.push({ name: 'readable', passed: true, detail: format === 'pdf' ? 'the PDF carries a signed statement' : 'the file is a signed receipt' });

  const statement = readStatement(signed.statement);
  checks.push(
    statement
      ? { name: 'statement', passed: true, detail: `a registration statement (version ${statement.version}) for ${statement.number}, from ${describeSender(statement)}` }
      : { name: 'statement', passed: false, detail: 'the statement is not a wasl registration statement of a known version' },
  );

  const keyId = keyIdOf(publicKey);
  if (statement) {
    checks.push(
      statement.keyId === keyId
        ? { name: 'key', passed: true, detail: `signed with key ${keyId}` }
        : { name: 'key', passed: false, detail: `the statement names key ${statement.keyId}, the key given is ${keyId}` },
    );
  }

  const holds = signatureHolds({ statement: signed.statement, signature: signed.signature, publicKey });
  checks.push(
    holds
      ? { name: 'signature', passed: true, detail: 'the Ed25519 signature holds: the statement is unchanged since the office signed it' }
      : { name: 'signature', passed: false, detail: 'the Ed25519 signature does not hold: the statement was changed, or signed with another key' },
  );

  if (letterBytes !== undefined && statement) checks.push(letterCheck({ statement, letterBytes }));
  return verdict(statement);
}

/**
 * Who the statement says wrote the letter, and what it says was proved about them: a name alone
 * proves nothing. Statements of version 1 made no claim either way.
 */
function describeSender(statement: ReceiptStatement): string {
  const { id, name } = statement.sender;
  const who = name ? `${JSON.stringify(name)} <${id}>` : `<${id}>`;
  if (statement.version === 1) return `${who} (sender verification not recorded: statement of version 1)`;
  const { authentication } = statement.sender;
  if (authentication === null) return `${who}, NOT VERIFIED (not checked)`;
  if (authentication.verdict === 'platform') return `${who}, account authenticated by its platform (${authentication.authority ?? statement.channel})`;
  const dkim = authentication.dkim.map((signature) => `${signature.result} (${signature.domain ?? '?'})`).join(', ') || 'none';
  const checks = `SPF ${authentication.spf.result}, DKIM ${dkim}, DMARC ${authentication.dmarc.result}`;
  return authentication.verdict === 'verified' ? `${who}, verified for ${authentication.fromDomain ?? '?'} (${checks})` : `${who}, NOT VERIFIED (${checks})`;
}

function readSigned({ receipt, format }: { receipt: Uint8Array; format: 'json' | 'pdf' }): { statement: unknown; signature: Buffer } {
  if (format === 'json') return parseReceiptJson(Buffer.from(receipt).toString('utf8'));
  const { canonicalStatement, signature } = extractSignedStatement(receipt);
  try {
    return { statement: JSON.parse(canonicalStatement) as unknown, signature };
  } catch (error) {
    throw new WaslError('evidence.receipt_unreadable', `the PDF's ${STATEMENT_FILE_NAME} is not JSON`, { cause: error });
  }
}

/** The letter given is the registered original, or one of its attachments. */
function letterCheck({ statement, letterBytes }: { statement: ReceiptStatement; letterBytes: Uint8Array }): ReceiptCheck {
  const sha256 = sha256Hex(letterBytes);
  if (sha256 === statement.original.sha256) return { name: 'letter', passed: true, detail: `the file is the original registered as ${statement.number} (SHA-256 ${sha256})` };
  const attachment = statement.attachments.find((candidate) => candidate.sha256 === sha256);
  if (attachment) return { name: 'letter', passed: true, detail: `the file is the attachment ${attachment.filename ?? attachment.sha256} of ${statement.number}` };
  return { name: 'letter', passed: false, detail: `the file (SHA-256 ${sha256}) is neither the original of ${statement.number} nor one of its attachments` };
}
