/**
 * Reads and appends to the register. Every write here runs inside a transaction its caller
 * opened (a `write` of the unit of work), so a letter, its number, its contents and its deliveries
 * commit together or not at all. Engine-neutral: the tables come with the transaction.
 */
import { and, desc, eq, getTableColumns, inArray, or, sql, type Placeholder, type Table } from 'drizzle-orm';
import type { ChannelAddress, LetterStatus } from '../channels/port.js';
import { addTo } from '../collections.js';
import { encoded, inFewStatements, writeInFewStatements, preparedQueries, type RegisterTables, type RegisterTx } from '../db/register-tx.js';
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
  takeSequences: db
    .insert(counters)
    .values({ year: $('year'), direction: $('direction'), lastSequence: $('count') })
    .onConflictDoUpdate({ target: [counters.year, counters.direction], set: { lastSequence: sql`${counters.lastSequence} + excluded.last_sequence` } })
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

/**
 * Takes the next `count` numbers of a year's register and returns the last: they run from
 * `last - count + 1` to `last`. Called inside the registering transaction, so they are gapless.
 */
export async function takeSequences(tx: RegisterTx, { year, direction, count }: { year: number; direction: Direction; count: number }): Promise<number> {
  return (await hot(tx).takeSequences.execute({ year, direction, count }))[0]!.lastSequence;
}

/** Stores contents once by their hash; a second letter with the same attachment shares the row. */
export async function storeBlobs(tx: RegisterTx, contents: readonly { sha256: string; content: Uint8Array }[]): Promise<void> {
  const rows = [...new Map(contents.map(({ sha256, content }) => [sha256, { sha256, size: content.byteLength, content: Buffer.from(content.buffer, content.byteOffset, content.byteLength) }])).values()];
  await writeInFewStatements(tx, rows, {
    one: (row) => hot(tx).storeBlob.execute(row),
    many: (chunk) => tx.db.insert(tx.tables.blobs).values(chunk).onConflictDoNothing(),
    bytesOf: (row) => row.size,
  });
}

export async function readBlob(tx: RegisterTx, sha256: string): Promise<Buffer | undefined> {
  return (await hot(tx).readBlob.execute({ sha256 }))[0]?.content;
}

export type ChannelMessageKey = { channel: string; senderId: string; externalId: string };

/** The letters registered from one sender's message id on a channel, oldest first. */
export async function lettersByChannelMessage(tx: RegisterTx, key: ChannelMessageKey): Promise<LetterRow[]> {
  return hot(tx).lettersByChannelMessage.execute(key);
}

/** The letters registered from any of these messages, oldest first. */
export async function lettersByChannelMessages(tx: RegisterTx, keys: readonly ChannelMessageKey[]): Promise<LetterRow[]> {
  const { letters } = tx.tables;
  const distinct = [...new Map(keys.map((key) => [JSON.stringify([key.channel, key.senderId, key.externalId]), key])).values()];
  const rows = await inFewStatements(tx, distinct, {
    one: (key) => lettersByChannelMessage(tx, key),
    many: (chunk) =>
      tx.db
        .select()
        .from(letters)
        .where(or(...chunk.map((key) => and(eq(letters.channel, key.channel), eq(letters.senderId, key.senderId), eq(letters.externalId, key.externalId))))),
  });
  return rows.sort((a, b) => a.id - b.id);
}

/** Inserts letters, in order (their ids follow it); returns them with their ids. */
export async function insertLetters(tx: RegisterTx, rows: readonly Omit<LetterRow, 'id'>[]): Promise<LetterRow[]> {
  const { letters } = tx.tables;
  const ids = await inFewStatements(tx, rows, {
    one: async (row) => [{ id: (await hot(tx).insertLetter.execute(row))[0]!.id, number: row.number }],
    many: (chunk) => tx.db.insert(letters).values(chunk).returning({ id: letters.id, number: letters.number }),
  });
  // Matched by number, unique: neither engine promises RETURNING in the order of VALUES.
  const idOf = new Map(ids.map(({ id, number }) => [number, id]));
  return rows.map((row) => ({ id: idOf.get(row.number)!, ...row }));
}

export async function lastEntryHash(tx: RegisterTx): Promise<string | null> {
  return (await hot(tx).lastEntryHash.execute())[0]?.entryHash ?? null;
}

export type LetterDepartmentRow = RegisterTables['letterDepartments']['$inferInsert'];

export async function insertDepartments(
  tx: RegisterTx,
  { letterId, codes, via = 'registration' }: { letterId: number; codes: readonly string[]; via?: 'registration' | 'transfer' },
): Promise<void> {
  await insertDepartmentRows(tx, codes.map((departmentCode) => ({ letterId, departmentCode, via })));
}

export async function insertDepartmentRows(tx: RegisterTx, rows: readonly LetterDepartmentRow[]): Promise<void> {
  await writeInFewStatements(tx, rows, {
    one: (row) => hot(tx).insertDepartment.execute({ ...row, via: row.via ?? 'registration' }),
    many: (chunk) => tx.db.insert(tx.tables.letterDepartments).values(chunk).onConflictDoNothing(),
  });
}

export async function insertAttachments(tx: RegisterTx, rows: readonly Omit<AttachmentRow, 'id'>[]): Promise<void> {
  await writeInFewStatements(tx, rows, {
    one: (row) => hot(tx).insertAttachment.execute(row),
    many: (chunk) => tx.db.insert(tx.tables.attachments).values(chunk),
  });
}

export type NewLetterEvent = {
  letterId: number;
  type: string;
  at: Date;
  actor?: ChannelAddress | undefined;
  departmentCode?: string | undefined;
  detail?: Record<string, unknown> | undefined;
};

export async function appendEvent(tx: RegisterTx, event: NewLetterEvent): Promise<void> {
  await appendEvents(tx, [event]);
}

/** Appends events in order: a letter's events are read back in the order of their ids. */
export async function appendEvents(tx: RegisterTx, events: readonly NewLetterEvent[]): Promise<void> {
  const rows = events.map((event) => ({
    letterId: event.letterId,
    type: event.type,
    at: event.at,
    actorChannel: event.actor?.channel ?? null,
    actorId: event.actor?.id ?? null,
    actorName: event.actor?.displayName ?? null,
    departmentCode: event.departmentCode ?? null,
    detail: event.detail ? JSON.stringify(event.detail) : null,
  }));
  await writeInFewStatements(tx, rows, {
    one: (row) => hot(tx).appendEvent.execute(row),
    many: (chunk) => tx.db.insert(tx.tables.letterEvents).values(chunk),
  });
}

/** Sets the status shown in listings; with `onlyIf`, only a letter still in that status (a forward does not undo an answer). */
export async function setStatus(tx: RegisterTx, { letterId, status, onlyIf }: { letterId: number; status: LetterStatus; onlyIf?: LetterStatus }): Promise<void> {
  if (onlyIf) await hot(tx).setStatusIf.execute({ letterId, status, onlyIf });
  else await hot(tx).setStatus.execute({ letterId, status });
}

/** `setStatus` for many letters at once. */
export async function setStatuses(tx: RegisterTx, { letterIds, status, onlyIf }: { letterIds: readonly number[]; status: LetterStatus; onlyIf?: LetterStatus }): Promise<void> {
  const { letters } = tx.tables;
  await writeInFewStatements(tx, letterIds, {
    one: (letterId) => setStatus(tx, { letterId, status, ...(onlyIf ? { onlyIf } : {}) }),
    many: (chunk) =>
      tx.db
        .update(letters)
        .set({ status })
        .where(and(inArray(letters.id, chunk), onlyIf ? eq(letters.status, onlyIf) : undefined)),
  });
}

/** Inserts deliveries; returns them with their ids, in the order given. */
export async function insertDeliveries(tx: RegisterTx, rows: readonly NewDeliveryRow[]): Promise<DeliveryRow[]> {
  const { deliveries } = tx.tables;
  const keyOf = (row: Pick<DeliveryRow, 'letterId' | 'kind' | 'channel' | 'targetId' | 'targetThread' | 'departmentCode'>) =>
    JSON.stringify([row.letterId, row.kind, row.channel, row.targetId, row.targetThread, row.departmentCode]);
  const inserted = await inFewStatements(tx, rows, {
    one: async (row) => [{ id: (await hot(tx).insertDelivery.execute(row))[0]!.id, key: keyOf(row) }],
    many: async (chunk) =>
      (
        await tx.db.insert(deliveries).values(chunk).returning({
          id: deliveries.id,
          letterId: deliveries.letterId,
          kind: deliveries.kind,
          channel: deliveries.channel,
          targetId: deliveries.targetId,
          targetThread: deliveries.targetThread,
          departmentCode: deliveries.departmentCode,
        })
      ).map((row) => ({ id: row.id, key: keyOf(row) })),
  });
  // Matched by what the delivery is (RETURNING need not follow VALUES): rows alike in all of it are alike in everything, so either id fits either.
  const idsByKey = new Map<string, number[]>();
  for (const { id, key } of inserted) addTo(idsByKey, key, id);
  return rows.map((row) => ({ id: idsByKey.get(keyOf(row))!.shift()!, ...row }));
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
