/** Rows as registering a letter writes them, for tests of the repositories and the outbox below the use cases. */
import type { RegisterTx } from '../../src/db/register-tx.js';
import * as letters from '../../src/letters/letters.repository.js';
import type { LetterRow } from '../../src/letters/letters.repository.js';
import { newDelivery } from '../../src/letters/letters.usecases.js';

/** When the letters here are registered and their deliveries queued. */
export const REGISTERED_AT = new Date('2026-03-02T09:00:00Z');
const at = REGISTERED_AT;

export function letterRow(sequence: number, overrides: Partial<Omit<LetterRow, 'id'>> = {}): Omit<LetterRow, 'id'> {
  return {
    number: `2026-A-${String(sequence).padStart(6, '0')}`,
    year: 2026,
    direction: 'A',
    sequence,
    channel: 'email',
    externalId: `<m${sequence}@example.org>`,
    senderId: 'amina@example.org',
    senderName: 'Amina',
    replyChannel: 'email',
    replyId: 'amina@example.org',
    replyThread: null,
    subject: `letter ${sequence}`,
    bodyText: 'body',
    bodyHtml: null,
    originalSha256: `sha-${sequence}`,
    originalSize: 4,
    receivedAt: at,
    registeredAt: at,
    status: 'registered',
    receiptToken: `token-${sequence}`,
    language: 'fr',
    automated: null,
    answersLetterId: null,
    authentication: null,
    statement: null,
    signature: null,
    previousEntryHash: null,
    entryHash: `hash-${sequence}`,
    entryVersion: 2,
    ...overrides,
  };
}

/** A letter, its department, its registration event and a delivery per target: what registering writes. */
export async function registerLetter(tx: RegisterTx, sequence: number, { department = 'URB', targets = ['email'] }: { department?: string; targets?: string[] } = {}) {
  const [letter] = await letters.insertLetters(tx, [letterRow(sequence)]);
  await letters.insertDepartments(tx, { letterId: letter!.id, codes: [department] });
  await letters.appendEvent(tx, { letterId: letter!.id, type: 'registered', at });
  const deliveries = await letters.insertDeliveries(
    tx,
    targets.map((channel) => newDelivery({ letterId: letter!.id, kind: 'forward', target: { channel, id: `${channel}-target` }, departmentCode: department, at })),
  );
  return { letter: letter!, deliveries };
}
