/**
 * Reads and appends to the register. Every write here runs inside a transaction its caller
 * opened, so a letter, its number, its contents and its deliveries commit together or not at all.
 */
import { and, desc, eq, getTableColumns, inArray, sql, type Placeholder, type Table } from 'drizzle-orm';
import type { ChannelAddress, LetterStatus } from '../channels/port.js';
import { preparedQueries, type Db } from '../db/db.js';
import { deliveries } from '../outbox/outbox.tables.js';
import { attachments, blobs, counters, letterDepartments, letterEvents, letters, processedEvents } from './letters.tables.js';
import type { Direction } from './letters.models.js';

/** The connection; a caller that writes has opened the transaction (inTransaction, the group commit). */
export type Tx = Db;

export type LetterRow = typeof letters.$inferSelect;
export type NewLetterRow = typeof letters.$inferInsert;
export type DeliveryRow = typeof deliveries.$inferSelect;
/** A delivery as it is written: every column but the generated id (`newDelivery` fills one). */
export type NewDeliveryRow = Omit<DeliveryRow, 'id'>;
export type LetterEventRow = typeof letterEvents.$inferSelect;
export type AttachmentRow = typeof attachments.$inferSelect;

const $ = sql.placeholder;

/** A placeholder for each column but the generated id: an insert prepared once, run with a whole row. */
function rowPlaceholders<T extends Table>(table: T): { [Column in Exclude<keyof T['$inferInsert'], 'id'>]-?: Placeholder } {
  return Object.fromEntries(
    Object.keys(getTableColumns(table))
      .filter((name) => name !== 'id')
      .map((name) => [name, $(name)]),
  ) as { [Column in Exclude<keyof T['$inferInsert'], 'id'>]-?: Placeholder };
}

/** What every letter takes: registered, forwarded, receipted. */
const hot = preparedQueries((db) => ({
  takeSequence: db
    .insert(counters)
    .values({ year: $('year'), direction: $('direction'), lastSequence: 1 })
    .onConflictDoUpdate({ target: [counters.year, counters.direction], set: { lastSequence: sql`${counters.lastSequence} + 1` } })
    .returning({ lastSequence: counters.lastSequence })
    .prepare(),
  storeBlob: db.insert(blobs).values({ sha256: $('sha256'), size: $('size'), content: $('content') }).onConflictDoNothing().prepare(),
  readBlob: db.select({ content: blobs.content }).from(blobs).where(eq(blobs.sha256, $('sha256'))).prepare(),
  lettersByChannelMessage: db
    .select()
    .from(letters)
    .where(and(eq(letters.channel, $('channel')), eq(letters.senderId, $('senderId')), eq(letters.externalId, $('externalId'))))
    .orderBy(letters.id)
    .prepare(),
  // Only the id comes back: the rest of the row is what was written (mapping every column back cost more than the insert).
  insertLetter: db.insert(letters).values(rowPlaceholders(letters)).returning({ id: letters.id }).prepare(),
  lastEntryHash: db.select({ entryHash: letters.entryHash }).from(letters).orderBy(desc(letters.id)).limit(1).prepare(),
  letterById: db.select().from(letters).where(eq(letters.id, $('id'))).prepare(),
  insertDepartment: db
    .insert(letterDepartments)
    .values({ letterId: $('letterId'), departmentCode: $('departmentCode'), via: $('via') })
    .onConflictDoNothing()
    .prepare(),
  departmentsOf: db.select({ code: letterDepartments.departmentCode }).from(letterDepartments).where(eq(letterDepartments.letterId, $('letterId'))).prepare(),
  registeredDepartmentsOf: db
    .select({ code: letterDepartments.departmentCode })
    .from(letterDepartments)
    .where(and(eq(letterDepartments.letterId, $('letterId')), eq(letterDepartments.via, 'registration')))
    .prepare(),
  insertAttachment: db.insert(attachments).values(rowPlaceholders(attachments)).prepare(),
  attachmentsOf: db.select().from(attachments).where(eq(attachments.letterId, $('letterId'))).orderBy(attachments.position).prepare(),
  appendEvent: db.insert(letterEvents).values(rowPlaceholders(letterEvents)).prepare(),
  setStatus: db.update(letters).set({ status: sql`${$('status')}` }).where(eq(letters.id, $('letterId'))).prepare(),
  setStatusIf: db
    .update(letters)
    .set({ status: sql`${$('status')}` })
    .where(and(eq(letters.id, $('letterId')), eq(letters.status, $('onlyIf'))))
    .prepare(),
  insertDelivery: db.insert(deliveries).values(rowPlaceholders(deliveries)).returning({ id: deliveries.id }).prepare(),
}));

/** Takes the next number of a year's register; called inside the registering transaction, so it is gapless. */
export function takeSequence(tx: Tx, { year, direction }: { year: number; direction: Direction }): number {
  return hot(tx).takeSequence.get({ year, direction })!.lastSequence;
}

/** Stores content once by its hash; a second letter with the same attachment shares the row. */
export function storeBlob(tx: Tx, { sha256, content }: { sha256: string; content: Uint8Array }): void {
  hot(tx).storeBlob.run({ sha256, size: content.byteLength, content: Buffer.from(content.buffer, content.byteOffset, content.byteLength) });
}

export function readBlob(tx: Tx, sha256: string): Buffer | undefined {
  return hot(tx).readBlob.get({ sha256 })?.content;
}

/** The letters registered from one sender's message id on a channel, oldest first. */
export function lettersByChannelMessage(tx: Tx, key: { channel: string; senderId: string; externalId: string }): LetterRow[] {
  return hot(tx).lettersByChannelMessage.all(key);
}

export function insertLetter(tx: Tx, row: Omit<LetterRow, 'id'>): LetterRow {
  return { id: hot(tx).insertLetter.get(row)!.id, ...row };
}

export function lastEntryHash(tx: Tx): string | null {
  return hot(tx).lastEntryHash.get()?.entryHash ?? null;
}

export function insertDepartments(
  tx: Tx,
  { letterId, codes, via = 'registration' }: { letterId: number; codes: readonly string[]; via?: 'registration' | 'transfer' },
): void {
  for (const departmentCode of codes) hot(tx).insertDepartment.run({ letterId, departmentCode, via });
}

export function insertAttachments(tx: Tx, rows: Omit<AttachmentRow, 'id'>[]): void {
  for (const row of rows) hot(tx).insertAttachment.run(row);
}

export function appendEvent(
  tx: Tx,
  event: { letterId: number; type: string; at: Date; actor?: ChannelAddress | undefined; departmentCode?: string | undefined; detail?: Record<string, unknown> | undefined },
): void {
  hot(tx).appendEvent.run({
    letterId: event.letterId,
    type: event.type,
    at: event.at,
    actorChannel: event.actor?.channel ?? null,
    actorId: event.actor?.id ?? null,
    actorName: event.actor?.displayName ?? null,
    departmentCode: event.departmentCode ?? null,
    detail: event.detail ? JSON.stringify(event.detail) : null,
  });
}

/** Sets the status shown in listings; with `onlyIf`, only a letter still in that status (a forward does not undo an answer). */
export function setStatus(tx: Tx, { letterId, status, onlyIf }: { letterId: number; status: LetterStatus; onlyIf?: LetterStatus }): void {
  if (onlyIf) hot(tx).setStatusIf.run({ letterId, status, onlyIf });
  else hot(tx).setStatus.run({ letterId, status });
}

export function insertDeliveries(tx: Tx, rows: NewDeliveryRow[]): DeliveryRow[] {
  return rows.map((row) => ({ id: hot(tx).insertDelivery.get(row)!.id, ...row }));
}

export function letterById(tx: Tx, id: number): LetterRow | undefined {
  return hot(tx).letterById.get({ id });
}

export function letterByNumber(tx: Tx, number: string): LetterRow | undefined {
  return tx.select().from(letters).where(eq(letters.number, number)).get();
}

export function letterByReceiptToken(tx: Tx, token: string): LetterRow | undefined {
  return tx.select().from(letters).where(eq(letters.receiptToken, token)).get();
}

/** Every department handling the letter; `registeredOnly`: those sealed in its register entry (not later transfers). */
export function departmentsOf(tx: Tx, letterId: number, { registeredOnly = false }: { registeredOnly?: boolean } = {}): string[] {
  const query = registeredOnly ? hot(tx).registeredDepartmentsOf : hot(tx).departmentsOf;
  return query
    .all({ letterId })
    .map((row) => row.code)
    .sort();
}

export function attachmentsOf(tx: Tx, letterId: number): AttachmentRow[] {
  return hot(tx).attachmentsOf.all({ letterId });
}

export function eventsOf(tx: Tx, letterId: number): LetterEventRow[] {
  return tx.select().from(letterEvents).where(eq(letterEvents.letterId, letterId)).orderBy(letterEvents.at, letterEvents.id).all();
}

export function deliveriesOf(tx: Tx, letterId: number): DeliveryRow[] {
  return tx.select().from(deliveries).where(eq(deliveries.letterId, letterId)).orderBy(deliveries.id).all();
}

export function answersTo(tx: Tx, letterId: number): LetterRow[] {
  return tx.select().from(letters).where(eq(letters.answersLetterId, letterId)).orderBy(letters.id).all();
}

export function listLetterRows(
  tx: Tx,
  filter: { department?: string | undefined; statuses?: readonly string[] | undefined; limit: number },
): LetterRow[] {
  const conditions = [];
  if (filter.statuses) conditions.push(inArray(letters.status, [...filter.statuses]));
  if (filter.department) {
    conditions.push(
      inArray(
        letters.id,
        tx.select({ id: letterDepartments.letterId }).from(letterDepartments).where(eq(letterDepartments.departmentCode, filter.department)),
      ),
    );
  }
  return tx
    .select()
    .from(letters)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(letters.id))
    .limit(filter.limit)
    .all();
}

/** True the first time a channel event id is claimed. */
export function claimEvent(tx: Tx, { channel, eventId }: { channel: string; eventId: string }): boolean {
  const result = tx.insert(processedEvents).values({ channel, eventId }).onConflictDoNothing().run();
  return result.changes === 1;
}
