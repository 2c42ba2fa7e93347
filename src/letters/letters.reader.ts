/**
 * Reading the register: letters summed up as the channels, the web pages and the command line show
 * them. It needs neither the signing key nor the answer secret, so reading never makes them.
 */
import type { LetterStatus, LetterSummary } from '../channels/port.js';
import type { RegisterTx } from '../db/register-tx.js';
import type { UnitOfWork } from '../db/unit-of-work.js';
import * as repository from './letters.repository.js';
import type { LetterRow } from './letters.repository.js';

const OPEN_STATUSES: LetterStatus[] = ['registered', 'forwarded', 'acknowledged', 'transferred'];

export interface RegisterReader {
  /** The letter as the channels show it, read in `tx`: a read's, or that of the write that has the row. */
  summary(tx: RegisterTx, row: LetterRow): Promise<LetterSummary>;
  findLetter(number: string): Promise<LetterSummary | undefined>;
  listLetters(filter: { department?: string | undefined; open?: boolean | undefined; limit?: number | undefined }): Promise<LetterSummary[]>;
  receiptUrl(token: string): string;
}

export function createRegisterReader({ database, publicUrl }: { database: Pick<UnitOfWork<RegisterTx>, 'read'>; publicUrl: () => string }): RegisterReader {
  const receiptUrl = (token: string) => `${publicUrl()}/r/${token}`;

  async function summary(tx: RegisterTx, row: LetterRow): Promise<LetterSummary> {
    const answered = row.answersLetterId === null ? undefined : await repository.letterById(tx, row.answersLetterId);
    return {
      number: row.number,
      direction: row.direction === 'A' ? 'incoming' : 'outgoing',
      channel: row.channel,
      sender: { channel: row.channel, id: row.senderId, displayName: row.senderName ?? undefined },
      subject: row.subject ?? undefined,
      departments: await repository.departmentsOf(tx, row.id),
      status: row.status as LetterStatus,
      registeredAt: row.registeredAt,
      receiptUrl: receiptUrl(row.receiptToken),
      answers: answered?.number,
    };
  }

  return {
    summary,
    receiptUrl,
    findLetter: (number) =>
      database.read(async (tx) => {
        const row = await repository.letterByNumber(tx, number.trim());
        return row ? summary(tx, row) : undefined;
      }),
    listLetters: ({ department, open, limit }) =>
      database.read(async (tx) => {
        const rows = await repository.listLetterRows(tx, { department: department?.toUpperCase(), statuses: open ? OPEN_STATUSES : undefined, limit: limit ?? 50 });
        const summaries: LetterSummary[] = [];
        // One after the other: a transaction has one connection.
        for (const row of rows) summaries.push(await summary(tx, row));
        return summaries;
      }),
  };
}
