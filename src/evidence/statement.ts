/**
 * The signed statement behind a receipt: evidence of deposit in the sense of the eIDAS electronic
 * registered delivery services (ETSI EN 319 522), naming the sender, the time of registration, the
 * hash of what was deposited and its recipients (the departments), issued by the office whose key
 * signs it.
 *
 * Since entry version 2 the sender carries what the channel proved about them (`authentication`:
 * SPF, DKIM and DMARC verdicts for email, the platform for chat, null when nothing was checked), so
 * the statement never names an unchecked address as if it were known. Entries of version 1, sealed
 * before, keep their form: they are hashed and verified exactly as they were signed.
 *
 * Two layers:
 * - the register entry: facts the register stores, chained by `previousEntryHash` and sealed by
 *   `entryHash = SHA-256(JCS(entry without entryHash))`, so `register verify` can recompute it
 *   from the stored columns;
 * - the statement: the entry plus who issued it (`office`, `keyId`) and where its receipt page is,
 *   signed with Ed25519 over its canonical bytes. Those extra fields are not chained, so that a
 *   change of public URL or office name never breaks the register's chain.
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import * as z from 'zod';
import { WaslError } from '../errors.js';
import { canonicalBytes, canonicalJson } from './canonical-json.js';
import { sha256Hex } from './sha256.js';
import type { SigningKey } from './signing-key.js';

export const STATEMENT_TYPE = 'wasl.registration';
/** The version new entries are sealed with; every earlier one still reads and verifies. */
export const ENTRY_VERSION = 2;

const sha256Text = z.string().regex(/^[0-9a-f]{64}$/);

/** What the channel proved about the sender, as sealed in a version 2 entry. */
const senderAuthenticationSchema = z.union([
  z.object({
    /** `verified`: the From address's domain is proved (DMARC pass, or an SPF or DKIM pass of that very domain). */
    verdict: z.enum(['verified', 'unverified']),
    fromDomain: z.string().nullable(),
    spf: z.object({ result: z.string(), domain: z.string().nullable() }),
    dkim: z.array(z.object({ result: z.string(), domain: z.string().nullable() })),
    dmarc: z.object({ result: z.string(), policy: z.string().nullable() }),
  }),
  /** A chat platform's login: the workspace or homeserver that vouches for the sender's id. */
  z.object({ verdict: z.literal('platform'), authority: z.string().nullable() }),
]);

const entryFields = {
  number: z.string().min(1),
  registeredAt: z.iso.datetime(),
  channel: z.string().min(1),
  departments: z.array(z.string()),
  subject: z.string().nullable(),
  original: z.object({ sha256: sha256Text, size: z.number().int().nonnegative() }),
  attachments: z.array(z.object({ sha256: sha256Text, size: z.number().int().nonnegative(), contentType: z.string(), filename: z.string().nullable() })),
  /** The number of the letter this one answers (outgoing answers), else null. */
  inAnswerTo: z.string().nullable(),
  /** The entry registered just before this one; null only for the register's first entry. */
  previousEntryHash: sha256Text.nullable(),
};

const registerEntrySchema = z.discriminatedUnion('version', [
  z.object({ version: z.literal(1), sender: z.object({ id: z.string(), name: z.string().nullable() }), ...entryFields }),
  z.object({
    version: z.literal(ENTRY_VERSION),
    /** `authentication` null: the channel checked nothing (checks turned off), so the sender is not verified. */
    sender: z.object({ id: z.string(), name: z.string().nullable(), authentication: senderAuthenticationSchema.nullable() }),
    ...entryFields,
  }),
]);

const statementSchema = registerEntrySchema.and(
  z.object({
    entryHash: sha256Text,
    type: z.literal(STATEMENT_TYPE),
    office: z.object({ domain: z.string(), name: z.record(z.string(), z.string()) }),
    keyId: sha256Text,
    receiptUrl: z.string(),
  }),
);

export type RegisterEntry = z.infer<typeof registerEntrySchema>;
export type SenderAuthenticationEntry = z.infer<typeof senderAuthenticationSchema>;
export type ChainedEntry = RegisterEntry & { entryHash: string };
export type ReceiptStatement = z.infer<typeof statementSchema>;

type CurrentEntry = Extract<RegisterEntry, { version: typeof ENTRY_VERSION }>;

/** What the register knows about a letter when it registers it; the chain fields are added here. */
export type EntryFacts = Omit<CurrentEntry, 'version' | 'registeredAt' | 'previousEntryHash' | 'sender'> & {
  registeredAt: Date;
  /** `authentication` left out: nothing was checked (sealed as null). */
  sender: { id: string; name: string | null; authentication?: SenderAuthenticationEntry | null | undefined };
};

export interface ReceiptSignature {
  algorithm: 'Ed25519';
  keyId: string;
  /** base64url (RFC 4648 §5), no padding. */
  value: string;
}

export interface SignedReceipt {
  statement: ReceiptStatement;
  /** The exact signed bytes, as text: what the register stores and the PDF embeds. */
  canonicalStatement: string;
  signature: ReceiptSignature;
}

/** The fields of a register entry, and only those, in the form of its version: extra statement fields never enter the chain. */
export function registerEntryOf(entry: RegisterEntry): RegisterEntry {
  const facts = {
    number: entry.number,
    registeredAt: entry.registeredAt,
    channel: entry.channel,
    // Sorted: the register stores a letter's departments as a set, and must rebuild the same bytes.
    departments: [...entry.departments].sort(),
    subject: entry.subject,
    original: { sha256: entry.original.sha256, size: entry.original.size },
    attachments: entry.attachments.map(({ sha256, size, contentType, filename }) => ({ sha256, size, contentType, filename })),
    inAnswerTo: entry.inAnswerTo,
    previousEntryHash: entry.previousEntryHash,
  };
  if (entry.version === 1) return { version: 1, sender: { id: entry.sender.id, name: entry.sender.name }, ...facts };
  return { version: entry.version, sender: { id: entry.sender.id, name: entry.sender.name, authentication: senderAuthenticationOf(entry.sender.authentication) }, ...facts };
}

function senderAuthenticationOf(authentication: SenderAuthenticationEntry | null): SenderAuthenticationEntry | null {
  if (authentication === null) return null;
  if (authentication.verdict === 'platform') return { verdict: 'platform', authority: authentication.authority };
  const { verdict, fromDomain, spf, dkim, dmarc } = authentication;
  return {
    verdict,
    fromDomain,
    spf: { result: spf.result, domain: spf.domain },
    dkim: dkim.map((signature) => ({ result: signature.result, domain: signature.domain })),
    dmarc: { result: dmarc.result, policy: dmarc.policy },
  };
}

export function entryHashOf(entry: RegisterEntry): string {
  return sha256Hex(canonicalBytes(registerEntryOf(entry)));
}

/** Seals a new entry onto the chain; call it in the transaction that takes the number. */
export function chainEntry({ facts, previousEntryHash }: { facts: EntryFacts; previousEntryHash: string | null }): ChainedEntry {
  const sender = { id: facts.sender.id, name: facts.sender.name, authentication: facts.sender.authentication ?? null };
  const entry = registerEntryOf({ ...facts, sender, version: ENTRY_VERSION, registeredAt: facts.registeredAt.toISOString(), previousEntryHash });
  return { ...entry, entryHash: entryHashOf(entry) };
}

export function buildStatement({
  entry,
  office,
  keyId,
  receiptUrl,
}: {
  entry: ChainedEntry;
  office: ReceiptStatement['office'];
  keyId: string;
  receiptUrl: string;
}): ReceiptStatement {
  return { type: STATEMENT_TYPE, ...registerEntryOf(entry), entryHash: entry.entryHash, office: { domain: office.domain, name: { ...office.name } }, keyId, receiptUrl };
}

export function signStatement({ statement, key }: { statement: ReceiptStatement; key: SigningKey }): SignedReceipt {
  if (statement.keyId !== key.keyId) {
    throw new WaslError('evidence.key_mismatch', 'the statement names another key than the one signing it', { details: { statementKeyId: statement.keyId, keyId: key.keyId } });
  }
  const canonicalStatement = canonicalJson(statement);
  const value = sign(null, Buffer.from(canonicalStatement, 'utf8'), key.privateKey).toString('base64url');
  return { statement, canonicalStatement, signature: { algorithm: 'Ed25519', keyId: key.keyId, value } };
}

/** True when `signature` (raw bytes) is the Ed25519 signature of the canonical form of `statement`. */
export function signatureHolds({ statement, signature, publicKey }: { statement: unknown; signature: Uint8Array; publicKey: KeyObject }): boolean {
  let signed: Buffer;
  try {
    signed = canonicalBytes(statement);
  } catch {
    // A statement with no canonical form (a lone surrogate escaped in its JSON) was never signed by us.
    return false;
  }
  return verify(null, signed, publicKey, signature);
}

/** Reads a statement's fields once its signature is known to hold; undefined when it is not one of ours. */
export function readStatement(value: unknown): ReceiptStatement | undefined {
  const parsed = statementSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/**
 * The `/r/{token}.json` document. Two lines on purpose: the signature first, then the statement's
 * canonical bytes alone after `"statement":`, so that `sed` can cut out exactly the signed bytes
 * for a check with OpenSSL (see README.md in this folder).
 */
export function formatReceiptJson({ canonicalStatement, signatureValue }: { canonicalStatement: string; signatureValue: string }): string {
  const { keyId } = JSON.parse(canonicalStatement) as { keyId?: unknown };
  if (typeof keyId !== 'string') throw new WaslError('evidence.receipt_unreadable', 'the stored statement names no signing key');
  const signature: ReceiptSignature = { algorithm: 'Ed25519', keyId, value: signatureValue };
  return `{"signature":${canonicalJson(signature)},\n"statement":${canonicalStatement}}\n`;
}

const receiptJsonSchema = z.object({
  signature: z.object({ algorithm: z.literal('Ed25519'), keyId: z.string(), value: z.string().regex(/^[A-Za-z0-9_-]+$/) }),
  statement: z.record(z.string(), z.unknown()),
});

/** A receipt JSON as served or saved (also pretty-printed: the signature is checked on the canonical form). */
export function parseReceiptJson(text: string): { statement: Record<string, unknown>; signature: Buffer } {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new WaslError('evidence.receipt_unreadable', 'the receipt is not JSON', { cause: error });
  }
  const parsed = receiptJsonSchema.safeParse(document);
  if (!parsed.success) throw new WaslError('evidence.receipt_unreadable', 'the receipt JSON has no Ed25519 signature and statement');
  return { statement: parsed.data.statement, signature: Buffer.from(parsed.data.signature.value, 'base64url') };
}
