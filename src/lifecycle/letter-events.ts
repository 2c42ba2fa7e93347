/**
 * What can happen to a letter, as one closed set of events. A row of `letter_events` holds an
 * event as its `type`, its department (the `department_code` column, where it names one) and the
 * rest of its facts as JSON in `detail`; `parseEvent` reads such a row back and refuses anything
 * else, so a register never holds a step nobody can explain. Time and actor live in their own
 * columns, beside the event, not in it.
 */
import { z } from 'zod';
import { WaslError } from '../errors.js';

export const CLOSE_OUTCOMES = ['answered', 'no_answer_needed', 'sent_elsewhere', 'withdrawn'] as const;
export type CloseOutcome = (typeof CLOSE_OUTCOMES)[number];

export function isCloseOutcome(value: string | undefined): value is CloseOutcome {
  return (CLOSE_OUTCOMES as readonly (string | undefined)[]).includes(value);
}

/** The longest free text an event keeps: enough for a paragraph, not for a letter (that is registered). */
export const TEXT_LIMITS = { reason: 500, text: 2000 } as const;
type TextField = keyof typeof TEXT_LIMITS;

/** A calendar day of the office (`2026-12-04`): due dates count working days, not instants. */
export type Day = string;

export type LetterEvent =
  /** `dueDate`: the day the answer is due, when one was set at registration (null for letters registered before deadlines). */
  | { type: 'registered'; dueDate: Day | null }
  | { type: 'quarantined' }
  | { type: 'message_id_reused'; earlier: string[] }
  /** A forward reached a department's channel (one event per channel and address). */
  | { type: 'forwarded'; department: string | null }
  | { type: 'receipt_sent' }
  | { type: 'receipt_undeliverable'; delivery: number; code: string }
  | { type: 'delivery_failed'; delivery: number; code: string; department: string | null }
  /** `assignee`: the id of the person who works the letter. */
  | { type: 'assigned'; assignee: string }
  | { type: 'acknowledged' }
  /** `reason`: null for transfers made before a reason was asked. */
  | { type: 'transferred'; department: string; reason: string | null }
  | { type: 'note_added'; text: string }
  /** `answer`: the number of the outgoing letter that answers this one. */
  | { type: 'answered'; answer: string }
  /** On the letter answered, `answer` names the answer; on the answer itself it is null. */
  | { type: 'answer_delivered'; answer: string | null }
  | { type: 'deadline_extended'; dueDate: Day; reason: string }
  | { type: 'reminded'; dueDate: Day }
  | { type: 'overdue'; dueDate: Day }
  /** `outcome`: null for letters closed before an outcome was asked. */
  | { type: 'closed'; outcome: CloseOutcome | null }
  | { type: 'reopened'; reason: string };

export type LetterEventType = LetterEvent['type'];

/** How an event is stored: the columns of a `letter_events` row that hold its facts. */
export interface StoredEvent {
  type: string;
  departmentCode: string | null;
  /** JSON, or null for an event with no other facts. */
  detail: string | null;
}

const department = z.string().regex(/^[A-Z0-9_-]{1,32}$/);
const letterNumber = z.string().min(1).max(64);
const day = z.iso.date();
const boundedText = (field: TextField) => z.string().trim().min(1).max(TEXT_LIMITS[field]);

/**
 * Each event as one flat object: its detail's keys beside `department`, the column. No detail key
 * is called `department`, so the two never meet. Missing facts of rows older than the fact are null.
 */
const eventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('registered'), dueDate: day.nullable().default(null) }),
  z.object({ type: z.literal('quarantined') }),
  z.object({ type: z.literal('message_id_reused'), earlier: z.array(letterNumber).min(1) }),
  z.object({ type: z.literal('forwarded'), department: department.nullable() }),
  z.object({ type: z.literal('receipt_sent') }),
  z.object({ type: z.literal('receipt_undeliverable'), delivery: z.number().int().positive(), code: z.string().min(1).max(100) }),
  z.object({ type: z.literal('delivery_failed'), delivery: z.number().int().positive(), code: z.string().min(1).max(100), department: department.nullable() }),
  z.object({ type: z.literal('assigned'), assignee: z.string().min(1).max(200) }),
  z.object({ type: z.literal('acknowledged') }),
  z.object({ type: z.literal('transferred'), department, reason: boundedText('reason').nullable().default(null) }),
  z.object({ type: z.literal('note_added'), text: boundedText('text') }),
  z.object({ type: z.literal('answered'), answer: letterNumber }),
  z.object({ type: z.literal('answer_delivered'), answer: letterNumber.nullable().default(null) }),
  z.object({ type: z.literal('deadline_extended'), dueDate: day, reason: boundedText('reason') }),
  z.object({ type: z.literal('reminded'), dueDate: day }),
  z.object({ type: z.literal('overdue'), dueDate: day }),
  z.object({ type: z.literal('closed'), outcome: z.enum(CLOSE_OUTCOMES).nullable().default(null) }),
  z.object({ type: z.literal('reopened'), reason: boundedText('reason') }),
]);

export const LETTER_EVENT_TYPES = eventSchema.options.map((option) => option.shape.type.value) as readonly LetterEventType[];

/** The event a stored row holds. Throws WaslError `event.unknown_type`, or as `checkedEvent` does. */
export function parseEvent(row: StoredEvent): LetterEvent {
  if (!(LETTER_EVENT_TYPES as readonly string[]).includes(row.type)) {
    throw new WaslError('event.unknown_type', `no letter event is called "${row.type}"; known events: ${LETTER_EVENT_TYPES.join(', ')}`, { details: { type: row.type } });
  }
  let detail: unknown = {};
  if (row.detail !== null) {
    try {
      detail = JSON.parse(row.detail);
    } catch {
      throw new WaslError('event.malformed', `the detail of a "${row.type}" event is not JSON`, { details: { type: row.type } });
    }
  }
  if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
    throw new WaslError('event.malformed', `the detail of a "${row.type}" event is not an object`, { details: { type: row.type } });
  }
  return checkedEvent({ ...detail, type: row.type, department: row.departmentCode });
}

/** The columns that store an event; facts that are null are left out of the detail. */
export function serializeEvent(event: LetterEvent): { type: LetterEventType; departmentCode: string | undefined; detail: Record<string, unknown> | undefined } {
  const { type, ...facts } = checkedEvent(event);
  const { department: departmentCode, ...rest } = facts as { department?: string | null } & Record<string, unknown>;
  const detail = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== null));
  return { type, departmentCode: departmentCode ?? undefined, detail: Object.keys(detail).length > 0 ? detail : undefined };
}

/**
 * The event as it would be read back (free texts trimmed), or a WaslError: `event.text_too_long` and
 * `event.text_empty` for a reason or note out of bounds, `event.malformed` for anything else.
 */
export function checkedEvent(candidate: Record<string, unknown>): LetterEvent {
  const parsed = eventSchema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  const type = String(candidate.type);
  for (const issue of parsed.error.issues) {
    const field = issue.path[0];
    if (field !== 'reason' && field !== 'text') continue;
    if (issue.code === 'too_big') {
      throw new WaslError('event.text_too_long', `the ${field} of a "${type}" event has more than ${TEXT_LIMITS[field]} characters`, {
        details: { type, field, max: TEXT_LIMITS[field] },
      });
    }
    if (issue.code === 'too_small') {
      throw new WaslError('event.text_empty', `the ${field} of a "${type}" event is empty`, { details: { type, field } });
    }
  }
  const where = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(event)'}: ${issue.message}`).join('; ');
  throw new WaslError('event.malformed', `a "${type}" event is malformed: ${where}`, { details: { type } });
}
