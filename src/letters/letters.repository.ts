/**
 * Reads and appends to the register. Every write here runs inside a transaction its caller
 * opened (a `write` of the unit of work), so a letter, its number, its contents and its deliveries
 * commit together or not at all. Engine-neutral: the tables come with the transaction.
 */
import { and, desc, eq, getTableColumns, inArray, sql, type Placeholder, type Table } from 'drizzle-orm';
import type { ChannelAddress, LetterStatus } from '../channels/port.js';
import { encoded, preparedQueries, type RegisterTables, type RegisterTx } from '../db/register-tx.js';
import type { Direction } from './letters.models.js';


export type LetterRow = RegisterTables['letters']['$inferSelect'];
export type DeliveryRow = RegisterTables['deliveries']['$inferSelect'];
/** A delivery as it is written: every column but the generated id (`newDelivery` fills one). */
export type NewDeliveryRow = Omit<DeliveryRow, 'id'>;
export type LetterEventRow = RegisterTables['letterEvents']['$inferSelect'];
export type AttachmentRow = RegisterTables['attachments']['$inferSelect'];

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
const hot = preparedQueries((db, { counters, blobs, letters, letterDepartments, attachments, letterEvents, deliveries }) => ({
  takeSequence: db
    .insert(counters)
    .values({ year: $('year'), direction: $('direction'), lastSequence: 1 })
    .onConflictDoUpdate({ target: [counters.year, counters.direction], set: { lastSequence: sql`${counters.lastSequence} + 1` } })
    .returning({ lastSequence: counters.lastSequence })
    .prepare(),
  storeBlob: db.insert(blobs).values({ sha256: $('sha256'), size: $('size'), content: $('content') }).onConflictDoNothing().prepare(),
  readBlob: db.select({ content: blobs.content }).from(blobs).where(eq(blobs.sha256, encoded(blobs.sha256, 'sha256'))).prepare(),
  lettersByChannelMessage: db
    .select()
    .from(letters)
    .where(
      and(
        eq(letters.channel, encoded(letters.channel, 'channel')),
        eq(letters.senderId, encoded(letters.senderId, 'senderId')),
        eq(letters.externalId, encoded(letters.externalId, 'externalId')),
      ),
    )
    .orderBy(letters.id)
    .prepare(),
  // Only the id comes back: the rest of the row is what was written (mapping every column back cost more than the insert).
  insertLetter: db.insert(letters).values(rowPlaceholders(letters)).returning({ id: letters.id }).prepare(),
  lastEntryHash: db.select({ entryHash: letters.entryHash }).from(letters).orderBy(desc(letters.id)).limit(1).prepare(),
  letterById: db.select().from(letters).where(eq(letters.id, encoded(letters.id, 'id'))).prepare(),
  insertDepartment: db
    .insert(letterDepartments)
    .values({ letterId: $('letterId'), departmentCode: $('departmentCode'), via: $('via') })
    .onConflictDoNothing()
    .prepare(),
  departmentsOf: db
    .select({ code: letterDepartments.departmentCode })
    .from(letterDepartments)
    .where(eq(letterDepartments.letterId, encoded(letterDepartments.letterId, 'letterId')))
    .prepare(),
  registeredDepartmentsOf: db
    .select({ code: letterDepartments.departmentCode })
    .from(letterDepartments)
    .where(and(eq(letterDepartments.letterId, encoded(letterDepartments.letterId, 'letterId')), eq(letterDepartments.via, 'registration')))
    .prepare(),
  insertAttachment: db.insert(attachments).values(rowPlaceholders(attachments)).prepare(),
  attachmentsOf: db
    .select()
    .from(attachments)
    .where(eq(attachments.letterId, encoded(attachments.letterId, 'letterId')))
    .orderBy(attachments.position)
    .prepare(),
  appendEvent: db.insert(letterEvents).values(rowPlaceholders(letterEvents)).prepare(),
  setStatus: db
    .update(letters)
    .set({ status: encoded(letters.status, 'status') })
    .where(eq(letters.id, encoded(letters.id, 'letterId')))
    .prepare(),
  setStatusIf: db
    .update(letters)
    .set({ status: encoded(letters.status, 'status') })
    .where(and(eq(letters.id, encoded(letters.id, 'letterId')), eq(letters.status, encoded(letters.status, 'onlyIf'))))
    .prepare(),
  insertDelivery: db.insert(deliveries).values(rowPlaceholders(deliveries)).returning({ id: deliveries.id }).prepare(),
}));

/** Takes the next number of a year's register; called inside the registering transaction, so it is gapless. */
export async function takeSequence(tx: RegisterTx, { year, direction }: { year: number; direction: Direction }): Promise<number> {
  return (await hot(tx).takeSequence.execute({ year, direction }))[0]!.lastSequence;
}

/** Stores content once by its hash; a second letter with the same attachment shares the row. */
export async function storeBlob(tx: RegisterTx, { sha256, content }: { sha256: string; content: Uint8Array }): Promise<void> {
  await hot(tx).storeBlob.execute({ sha256, size: content.byteLength, content: Buffer.from(content.buffer, content.byteOffset, content.byteLength) });
}

export async function readBlob(tx: RegisterTx, sha256: string): Promise<Buffer | undefined> {
  return (await hot(tx).readBlob.execute({ sha256 }))[0]?.content;
}

/** The letters registered from one sender's message id on a channel, oldest first. */
export async function lettersByChannelMessage(tx: RegisterTx, key: { channel: string; senderId: string; externalId: string }): Promise<LetterRow[]> {
  return hot(tx).lettersByChannelMessage.execute(key);
}

export async function insertLetter(tx: RegisterTx, row: Omit<LetterRow, 'id'>): Promise<LetterRow> {
  return { id: (await hot(tx).insertLetter.execute(row))[0]!.id, ...row };
}

export async function lastEntryHash(tx: RegisterTx): Promise<string | null> {
  return (await hot(tx).lastEntryHash.execute())[0]?.entryHash ?? null;
}

export async function insertDepartments(
  tx: RegisterTx,
  { letterId, codes, via = 'registration' }: { letterId: number; codes: readonly string[]; via?: 'registration' | 'transfer' },
): Promise<void> {
  for (const departmentCode of codes) await hot(tx).insertDepartment.execute({ letterId, departmentCode, via });
}

export async function insertAttachments(tx: RegisterTx, rows: Omit<AttachmentRow, 'id'>[]): Promise<void> {
  for (const row of rows) await hot(tx).insertAttachment.execute(row);
}

export async function appendEvent(
  tx: RegisterTx,
  event: { letterId: number; type: string; at: Date; actor?: ChannelAddress | undefined; departmentCode?: string | undefined; detail?: Record<string, unknown> | undefined },
): Promise<void> {
  await hot(tx).appendEvent.execute({
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
export async function setStatus(tx: RegisterTx, { letterId, status, onlyIf }: { letterId: number; status: LetterStatus; onlyIf?: LetterStatus }): Promise<void> {
  if (onlyIf) await hot(tx).setStatusIf.execute({ letterId, status, onlyIf });
  else await hot(tx).setStatus.execute({ letterId, status });
}

export async function insertDeliveries(tx: RegisterTx, rows: NewDeliveryRow[]): Promise<DeliveryRow[]> {
  const inserted: DeliveryRow[] = [];
  for (const row of rows) inserted.push({ id: (await hot(tx).insertDelivery.execute(row))[0]!.id, ...row });
  return inserted;
}

export async function letterById(tx: RegisterTx, id: number): Promise<LetterRow | undefined> {
  return (await hot(tx).letterById.execute({ id }))[0];
}

export async function letterByNumber(tx: RegisterTx, number: string): Promise<LetterRow | undefined> {
  const { letters } = tx.tables;
  return (await tx.db.select().from(letters).where(eq(letters.number, number)).limit(1))[0];
}

export async function letterByReceiptToken(tx: RegisterTx, token: string): Promise<LetterRow | undefined> {
  const { letters } = tx.tables;
  return (await tx.db.select().from(letters).where(eq(letters.receiptToken, token)).limit(1))[0];
}

/** Every department handling the letter; `registeredOnly`: those sealed in its register entry (not later transfers). */
export async function departmentsOf(tx: RegisterTx, letterId: number, { registeredOnly = false }: { registeredOnly?: boolean } = {}): Promise<string[]> {
  const query = registeredOnly ? hot(tx).registeredDepartmentsOf : hot(tx).departmentsOf;
  return (await query.execute({ letterId })).map((row) => row.code).sort();
}

export async function attachmentsOf(tx: RegisterTx, letterId: number): Promise<AttachmentRow[]> {
  return hot(tx).attachmentsOf.execute({ letterId });
}

export async function eventsOf(tx: RegisterTx, letterId: number): Promise<LetterEventRow[]> {
  const { letterEvents } = tx.tables;
  return tx.db.select().from(letterEvents).where(eq(letterEvents.letterId, letterId)).orderBy(letterEvents.at, letterEvents.id);
}

export async function deliveriesOf(tx: RegisterTx, letterId: number): Promise<DeliveryRow[]> {
  const { deliveries } = tx.tables;
  return tx.db.select().from(deliveries).where(eq(deliveries.letterId, letterId)).orderBy(deliveries.id);
}

export async function answersTo(tx: RegisterTx, letterId: number): Promise<LetterRow[]> {
  const { letters } = tx.tables;
  return tx.db.select().from(letters).where(eq(letters.answersLetterId, letterId)).orderBy(letters.id);
}

export async function listLetterRows(
  tx: RegisterTx,
  filter: { department?: string | undefined; statuses?: readonly string[] | undefined; limit: number },
): Promise<LetterRow[]> {
  const { letters, letterDepartments } = tx.tables;
  const conditions = [];
  if (filter.statuses) conditions.push(inArray(letters.status, [...filter.statuses]));
  if (filter.department) {
    conditions.push(
      inArray(
        letters.id,
        tx.db.select({ id: letterDepartments.letterId }).from(letterDepartments).where(eq(letterDepartments.departmentCode, filter.department)),
      ),
    );
  }
  return tx.db
    .select()
    .from(letters)
    .where(conditions.length > 0 ? and(...conditions) : undefined)
    .orderBy(desc(letters.id))
    .limit(filter.limit);
}

/** True the first time a channel event id is claimed. */
export async function claimEvent(tx: RegisterTx, { channel, eventId }: { channel: string; eventId: string }): Promise<boolean> {
  const { processedEvents } = tx.tables;
  const claimed = await tx.db.insert(processedEvents).values({ channel, eventId }).onConflictDoNothing().returning({ channel: processedEvents.channel });
  return claimed.length === 1;
}
