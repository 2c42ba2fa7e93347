/**
 * Reads and appends to the register. Every write here runs inside a transaction its caller
 * opened, so a letter, its number, its contents and its deliveries commit together or not at all.
 */
import { and, desc, eq, inArray, sql } from 'drizzle-orm';
import type { ChannelAddress, LetterStatus } from '../channels/port.js';
import type { Db } from '../db/db.js';
import { deliveries } from '../outbox/outbox.tables.js';
import { attachments, blobs, counters, letterDepartments, letterEvents, letters, processedEvents } from './letters.tables.js';
import type { Direction } from './letters.models.js';

/** A transaction handle or the database itself: both run the same queries. */
export type Tx = Pick<Db, 'select' | 'insert' | 'update' | 'delete' | 'run' | 'get' | 'all'>;

export type LetterRow = typeof letters.$inferSelect;
export type NewLetterRow = typeof letters.$inferInsert;
export type DeliveryRow = typeof deliveries.$inferSelect;
export type NewDeliveryRow = typeof deliveries.$inferInsert;
export type LetterEventRow = typeof letterEvents.$inferSelect;
export type AttachmentRow = typeof attachments.$inferSelect;

/** Takes the next number of a year's register; called inside the registering transaction, so it is gapless. */
export function takeSequence(tx: Tx, { year, direction }: { year: number; direction: Direction }): number {
  const row = tx
    .insert(counters)
    .values({ year, direction, lastSequence: 1 })
    .onConflictDoUpdate({ target: [counters.year, counters.direction], set: { lastSequence: sql`${counters.lastSequence} + 1` } })
    .returning({ lastSequence: counters.lastSequence })
    .get();
  return row.lastSequence;
}

/** Stores content once by its hash; a second letter with the same attachment shares the row. */
export function storeBlob(tx: Tx, { sha256, content }: { sha256: string; content: Uint8Array }): void {
  tx.insert(blobs)
    .values({ sha256, size: content.byteLength, content: Buffer.from(content.buffer, content.byteOffset, content.byteLength) })
    .onConflictDoNothing()
    .run();
}

export function readBlob(tx: Tx, sha256: string): Buffer | undefined {
  return tx.select({ content: blobs.content }).from(blobs).where(eq(blobs.sha256, sha256)).get()?.content;
}

export function findByChannelMessage(tx: Tx, key: { channel: string; senderId: string; externalId: string }): LetterRow | undefined {
  return tx
    .select()
    .from(letters)
    .where(and(eq(letters.channel, key.channel), eq(letters.senderId, key.senderId), eq(letters.externalId, key.externalId)))
    .get();
}

export function insertLetter(tx: Tx, row: NewLetterRow): LetterRow {
  return tx.insert(letters).values(row).returning().get();
}

export function lastEntryHash(tx: Tx): string | null {
  return tx.select({ entryHash: letters.entryHash }).from(letters).orderBy(desc(letters.id)).limit(1).get()?.entryHash ?? null;
}

export function insertDepartments(
  tx: Tx,
  { letterId, codes, via = 'registration' }: { letterId: number; codes: readonly string[]; via?: 'registration' | 'transfer' },
): void {
  if (codes.length === 0) return;
  tx.insert(letterDepartments)
    .values(codes.map((departmentCode) => ({ letterId, departmentCode, via })))
    .onConflictDoNothing()
    .run();
}

export function insertAttachments(tx: Tx, rows: (typeof attachments.$inferInsert)[]): void {
  if (rows.length > 0) tx.insert(attachments).values(rows).run();
}

export function appendEvent(
  tx: Tx,
  event: { letterId: number; type: string; at: Date; actor?: ChannelAddress | undefined; departmentCode?: string | undefined; detail?: Record<string, unknown> | undefined },
): void {
  tx.insert(letterEvents)
    .values({
      letterId: event.letterId,
      type: event.type,
      at: event.at,
      actorChannel: event.actor?.channel ?? null,
      actorId: event.actor?.id ?? null,
      actorName: event.actor?.displayName ?? null,
      departmentCode: event.departmentCode ?? null,
      detail: event.detail ? JSON.stringify(event.detail) : null,
    })
    .run();
}

export function setStatus(tx: Tx, { letterId, status, onlyIf }: { letterId: number; status: LetterStatus; onlyIf?: LetterStatus[] }): void {
  const condition = onlyIf ? and(eq(letters.id, letterId), inArray(letters.status, onlyIf)) : eq(letters.id, letterId);
  tx.update(letters).set({ status }).where(condition).run();
}

export function insertDeliveries(tx: Tx, rows: NewDeliveryRow[]): void {
  if (rows.length > 0) tx.insert(deliveries).values(rows).run();
}

export function letterById(tx: Tx, id: number): LetterRow | undefined {
  return tx.select().from(letters).where(eq(letters.id, id)).get();
}

export function letterByNumber(tx: Tx, number: string): LetterRow | undefined {
  return tx.select().from(letters).where(eq(letters.number, number)).get();
}

export function letterByReceiptToken(tx: Tx, token: string): LetterRow | undefined {
  return tx.select().from(letters).where(eq(letters.receiptToken, token)).get();
}

/** Every department handling the letter; `registeredOnly`: those sealed in its register entry (not later transfers). */
export function departmentsOf(tx: Tx, letterId: number, { registeredOnly = false }: { registeredOnly?: boolean } = {}): string[] {
  return tx
    .select({ code: letterDepartments.departmentCode })
    .from(letterDepartments)
    .where(registeredOnly ? and(eq(letterDepartments.letterId, letterId), eq(letterDepartments.via, 'registration')) : eq(letterDepartments.letterId, letterId))
    .all()
    .map((row) => row.code)
    .sort();
}

export function attachmentsOf(tx: Tx, letterId: number): AttachmentRow[] {
  return tx.select().from(attachments).where(eq(attachments.letterId, letterId)).orderBy(attachments.position).all();
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
