/**
 * Checks the register's hash chain: every entry is rebuilt from the stored columns (not from its
 * stored statement, or an edited column would go unseen) and walked in registration order.
 */
import type { KeyObject } from 'node:crypto';
import { asc } from 'drizzle-orm';
import type { RegisterTx } from '../db/register-tx.js';
import { verifyChain, type ChainReport, type StoredEntry } from '../evidence/register-chain.js';
import { attachmentsOf, departmentsOf, letterById, type LetterRow } from '../letters/letters.repository.js';
import { authenticationEntryOf, readSenderAuthentication } from '../letters/sender-authenticity.js';

/** Reads the whole register in `tx` (one read: the entries and the counters agree). */
export async function verifyRegister({ tx, publicKey }: { tx: RegisterTx; publicKey: KeyObject }): Promise<ChainReport> {
  const { letters, counters } = tx.tables;
  const rows = await tx.db.select().from(letters).orderBy(asc(letters.id));
  const entries: StoredEntry[] = [];
  for (const row of rows) entries.push(await storedEntry(tx, row));
  const lastSequences = Object.fromEntries((await tx.db.select().from(counters)).map((counter) => [`${counter.year}-${counter.direction}`, counter.lastSequence]));
  return verifyChain({ entries, publicKey, lastSequences });
}

/** A register entry rebuilt from the stored columns. */
async function storedEntry(tx: RegisterTx, row: LetterRow): Promise<StoredEntry> {
  return inItsVersion(row, {
    number: row.number,
    registeredAt: row.registeredAt.toISOString(),
    channel: row.channel,
    departments: await departmentsOf(tx, row.id, { registeredOnly: true }),
    subject: row.subject,
    original: { sha256: row.originalSha256, size: row.originalSize },
    attachments: (await attachmentsOf(tx, row.id)).map((attachment) => ({
      sha256: attachment.sha256,
      size: attachment.size,
      contentType: attachment.contentType,
      filename: attachment.filename,
    })),
    inAnswerTo: row.answersLetterId === null ? null : ((await letterById(tx, row.answersLetterId))?.number ?? `(missing letter ${row.answersLetterId})`),
    previousEntryHash: row.previousEntryHash,
    // A row without its hash was stripped of it: an empty hash can never match, so it is reported as altered.
    entryHash: row.entryHash ?? '',
    series: `${row.year}-${row.direction}`,
    sequence: row.sequence,
    signed: row.statement && row.signature ? { canonicalStatement: row.statement, signature: row.signature } : undefined,
  });
}

/** Each entry in the form it was sealed in: entries of version 1 never carried the sender's verdicts. */
function inItsVersion(row: LetterRow, facts: Omit<StoredEntry, 'version' | 'sender'>): StoredEntry {
  if (row.entryVersion === 1) return { ...facts, version: 1, sender: { id: row.senderId, name: row.senderName } };
  // A version this code does not know is rebuilt as the current one: its hash cannot match, so it is reported.
  return { ...facts, version: 2, sender: { id: row.senderId, name: row.senderName, authentication: authenticationEntryOf(readSenderAuthentication(row.authentication)) } };
}
