/**
 * The letter events as the register stores them: every row wasl has ever written reads back as an
 * event of the closed set, every event written reads back as itself, and anything else is refused
 * with a code that says why.
 */
import { describe, expect, it } from 'vitest';
import { WaslError } from '../../src/errors.js';
import { LETTER_EVENT_TYPES, TEXT_LIMITS, checkedEvent, parseEvent, serializeEvent, type LetterEvent, type StoredEvent } from '../../src/lifecycle/letter-events.js';

const row = (type: string, { departmentCode = null, detail = null }: { departmentCode?: string | null; detail?: Record<string, unknown> | null } = {}): StoredEvent => ({
  type,
  departmentCode,
  detail: detail === null ? null : JSON.stringify(detail),
});

function refusal(run: () => unknown): { code: string; message: string; details: Record<string, unknown> | undefined } {
  try {
    run();
  } catch (error) {
    if (error instanceof WaslError) return { code: error.code, message: error.message, details: error.details };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('rows already in a register', () => {
  // Each as the gateway writes it today (letters.usecases.ts, outbox.worker.ts, bounces.ts), before this model existed.
  const stored: [string, StoredEvent, LetterEvent][] = [
    ['registered', row('registered'), { type: 'registered', dueDate: null }],
    ['message_id_reused', row('message_id_reused', { detail: { earlier: ['2026-A-000001'] } }), { type: 'message_id_reused', earlier: ['2026-A-000001'] }],
    ['quarantined', row('quarantined'), { type: 'quarantined' }],
    ['answered', row('answered', { detail: { answer: '2026-D-000001' } }), { type: 'answered', answer: '2026-D-000001' }],
    ['forwarded', row('forwarded', { departmentCode: 'RH' }), { type: 'forwarded', department: 'RH' }],
    ['receipt_sent', row('receipt_sent'), { type: 'receipt_sent' }],
    ['answer_delivered on the letter answered', row('answer_delivered', { detail: { answer: '2026-D-000001' } }), { type: 'answer_delivered', answer: '2026-D-000001' }],
    ['answer_delivered on the answer', row('answer_delivered'), { type: 'answer_delivered', answer: null }],
    ['receipt_undeliverable', row('receipt_undeliverable', { detail: { delivery: 3, code: 'delivery.bounced' } }), { type: 'receipt_undeliverable', delivery: 3, code: 'delivery.bounced' }],
    ['delivery_failed', row('delivery_failed', { departmentCode: 'RH', detail: { delivery: 4, code: 'smtp.refused' } }), { type: 'delivery_failed', delivery: 4, code: 'smtp.refused', department: 'RH' }],
    ['acknowledged by a Slack button', row('acknowledged'), { type: 'acknowledged' }],
    ['transferred by a Slack select, without a reason', row('transferred', { departmentCode: 'URB' }), { type: 'transferred', department: 'URB', reason: null }],
    ['closed by a Slack button, without an outcome', row('closed'), { type: 'closed', outcome: null }],
  ];

  it.each(stored)('%s reads back as its event', (_, stored, event) => {
    expect(parseEvent(stored)).toEqual(event);
  });
});

describe('events written now', () => {
  const events: LetterEvent[] = [
    { type: 'registered', dueDate: '2026-12-31' },
    { type: 'registered', dueDate: null },
    { type: 'quarantined' },
    { type: 'message_id_reused', earlier: ['2026-A-000001', '2026-A-000002'] },
    { type: 'forwarded', department: 'RH' },
    { type: 'receipt_sent' },
    { type: 'receipt_undeliverable', delivery: 7, code: 'delivery.bounced' },
    { type: 'delivery_failed', delivery: 8, code: 'smtp.refused', department: null },
    { type: 'assigned', assignee: 'person-42' },
    { type: 'acknowledged' },
    { type: 'transferred', department: 'URB', reason: 'Le terrain relève de l’urbanisme.' },
    { type: 'note_added', text: 'Appelé le demandeur : il envoie le plan demain.' },
    { type: 'answered', answer: '2026-D-000003' },
    { type: 'answer_delivered', answer: '2026-D-000003' },
    { type: 'deadline_extended', dueDate: '2027-01-29', reason: 'Avis du service juridique attendu.' },
    { type: 'reminded', dueDate: '2027-01-29' },
    { type: 'overdue', dueDate: '2027-01-29' },
    { type: 'closed', outcome: 'answered' },
    { type: 'closed', outcome: 'no_answer_needed' },
    { type: 'closed', outcome: 'sent_elsewhere' },
    { type: 'closed', outcome: 'withdrawn' },
    { type: 'reopened', reason: 'Le citoyen a répondu avec une pièce manquante.' },
  ];

  it('cover every type of the closed set', () => {
    expect(new Set(events.map((event) => event.type))).toEqual(new Set(LETTER_EVENT_TYPES));
  });

  it.each(events.map((event) => [event.type, event] as const))('%s is stored and read back as itself', (_, event) => {
    const { type, departmentCode, detail } = serializeEvent(event);
    expect(parseEvent({ type, departmentCode: departmentCode ?? null, detail: detail ? JSON.stringify(detail) : null })).toEqual(event);
  });

  it('keep a department in its column, where listings and the receipt page read it, and nothing null in the detail', () => {
    expect(serializeEvent({ type: 'transferred', department: 'URB', reason: null })).toEqual({ type: 'transferred', departmentCode: 'URB', detail: undefined });
    expect(serializeEvent({ type: 'transferred', department: 'URB', reason: 'Urbanisme' })).toEqual({ type: 'transferred', departmentCode: 'URB', detail: { reason: 'Urbanisme' } });
    expect(serializeEvent({ type: 'closed', outcome: 'withdrawn' })).toEqual({ type: 'closed', departmentCode: undefined, detail: { outcome: 'withdrawn' } });
  });
});

describe('free texts', () => {
  it('are trimmed and kept up to their limit', () => {
    expect(checkedEvent({ type: 'note_added', text: `  ${'n'.repeat(TEXT_LIMITS.text)}\n` })).toEqual({ type: 'note_added', text: 'n'.repeat(TEXT_LIMITS.text) });
    expect(checkedEvent({ type: 'reopened', reason: 'r'.repeat(TEXT_LIMITS.reason) })).toEqual({ type: 'reopened', reason: 'r'.repeat(TEXT_LIMITS.reason) });
  });

  it('beyond their limit are refused, written or read, naming the field and the limit', () => {
    expect(refusal(() => checkedEvent({ type: 'note_added', text: 'n'.repeat(TEXT_LIMITS.text + 1) }))).toMatchObject({
      code: 'event.text_too_long',
      details: { field: 'text', max: TEXT_LIMITS.text },
    });
    expect(refusal(() => serializeEvent({ type: 'deadline_extended', dueDate: '2027-01-29', reason: 'r'.repeat(TEXT_LIMITS.reason + 1) }))).toMatchObject({
      code: 'event.text_too_long',
      details: { field: 'reason', max: TEXT_LIMITS.reason },
    });
    expect(refusal(() => parseEvent(row('transferred', { departmentCode: 'URB', detail: { reason: 'r'.repeat(TEXT_LIMITS.reason + 1) } })))).toMatchObject({
      code: 'event.text_too_long',
      message: `the reason of a "transferred" event has more than ${TEXT_LIMITS.reason} characters`,
    });
  });

  it('made of blanks only are refused as empty', () => {
    expect(refusal(() => checkedEvent({ type: 'reopened', reason: '  \n ' }))).toMatchObject({ code: 'event.text_empty', details: { field: 'reason' } });
    expect(refusal(() => checkedEvent({ type: 'note_added', text: '' }))).toMatchObject({ code: 'event.text_empty', details: { field: 'text' } });
  });
});

describe('rows that are no event', () => {
  it('an unknown type is refused, naming it and the known ones', () => {
    const refused = refusal(() => parseEvent(row('escalated')));
    expect(refused.code).toBe('event.unknown_type');
    expect(refused.message).toContain('no letter event is called "escalated"');
    expect(refused.message).toContain('acknowledged');
  });

  it.each([
    ['detail that is not JSON', { type: 'answered', departmentCode: null, detail: '{answer:' }, 'event.malformed'],
    ['detail that is not an object', { type: 'answered', departmentCode: null, detail: '["2026-D-000001"]' }, 'event.malformed'],
    ['a missing fact', row('answered'), 'event.malformed'],
    ['a fact of the wrong type', row('receipt_undeliverable', { detail: { delivery: '3', code: 'x' } }), 'event.malformed'],
    ['a transfer without its department', row('transferred', { detail: { reason: 'ailleurs' } }), 'event.malformed'],
    ['a department that is no code', row('forwarded', { departmentCode: 'rh team' }), 'event.malformed'],
    ['an outcome outside the set', row('closed', { detail: { outcome: 'lost' } }), 'event.malformed'],
    ['a due date that is no day', row('deadline_extended', { detail: { dueDate: '2027-02-30', reason: 'x' } }), 'event.malformed'],
  ] as [string, StoredEvent, string][])('%s is refused as malformed', (_, stored, code) => {
    const refused = refusal(() => parseEvent(stored));
    expect(refused.code).toBe(code);
    expect(refused.message).toContain(`"${stored.type}" event`);
  });
});
