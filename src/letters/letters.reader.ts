/**
 * Reading the register: letters summed up as the channels, the web pages and the command line show
 * them. It needs neither the signing key nor the answer secret, so reading never makes them.
 */
import type { LetterStatus, LetterSummary } from '../channels/port.js';
import type { Db } from '../db/db.js';
import * as repository from './letters.repository.js';
import type { LetterRow } from './letters.repository.js';

const OPEN_STATUSES: LetterStatus[] = ['registered', 'forwarded', 'acknowledged', 'transferred'];

export interface RegisterReader {
  summary(row: LetterRow): LetterSummary;
  findLetter(number: string): LetterSummary | undefined;
  listLetters(filter: { department?: string | undefined; open?: boolean | undefined; limit?: number | undefined }): LetterSummary[];
  receiptUrl(token: string): string;
}

export function createRegisterReader({ db, publicUrl }: { db: Db; publicUrl: () => string }): RegisterReader {
  const receiptUrl = (token: string) => `${publicUrl()}/r/${token}`;

  function summary(row: LetterRow): LetterSummary {
    const answered = row.answersLetterId === null ? undefined : repository.letterById(db, row.answersLetterId);
    return {
      number: row.number,
      direction: row.direction === 'A' ? 'incoming' : 'outgoing',
      channel: row.channel,
      sender: { channel: row.channel, id: row.senderId, displayName: row.senderName ?? undefined },
      subject: row.subject ?? undefined,
      departments: repository.departmentsOf(db, row.id),
      status: row.status as LetterStatus,
      registeredAt: row.registeredAt,
      receiptUrl: receiptUrl(row.receiptToken),
      answers: answered?.number,
    };
  }

  return {
    summary,
    receiptUrl,
    findLetter(number) {
      const row = repository.letterByNumber(db, number.trim());
      return row ? summary(row) : undefined;
    },
    listLetters({ department, open, limit }) {
      return repository
        .listLetterRows(db, { department: department?.toUpperCase(), statuses: open ? OPEN_STATUSES : undefined, limit: limit ?? 50 })
        .map(summary);
    },
  };
}
