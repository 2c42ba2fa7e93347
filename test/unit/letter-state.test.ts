/**
 * What may happen to a letter next, and where it stands once it has: each step allowed with the
 * state it leads to, each step refused with its code and what the message names.
 */
import { describe, expect, it } from 'vitest';
import type { LetterEvent } from '../../src/lifecycle/letter-events.js';
import { stateOf, transition, type LetterState } from '../../src/lifecycle/letter-state.js';

const origin = { departments: ['RH'] };
const registered: LetterEvent = { type: 'registered', dueDate: null };
const withDueDate: LetterEvent = { type: 'registered', dueDate: '2026-12-31' };
const forwarded: LetterEvent = { type: 'forwarded', department: 'RH' };
const acknowledged: LetterEvent = { type: 'acknowledged' };
const answered: LetterEvent = { type: 'answered', answer: '2026-D-000001' };
const closedUnanswered: LetterEvent = { type: 'closed', outcome: 'no_answer_needed' };
const reopened: LetterEvent = { type: 'reopened', reason: 'Pièce manquante reçue.' };
const toUrb: LetterEvent = { type: 'transferred', department: 'URB', reason: 'Relève de l’urbanisme.' };

/** The state after a history (the registration first), or a failure naming the step the history lacks. */
function after(...history: LetterEvent[]): LetterState {
  const state = stateOf(history, origin);
  if (!state) throw new Error('no registration in this history');
  return state;
}

describe('steps a letter allows', () => {
  const allowed: [string, LetterEvent[], LetterEvent, Partial<LetterState>][] = [
    ['a forward of a registered letter', [registered], forwarded, { status: 'forwarded', forwarded: true }],
    ['an acknowledgement of a registered letter (its forward not yet recorded)', [registered], acknowledged, { status: 'acknowledged', acknowledged: true }],
    ['an acknowledgement of a forwarded letter', [registered, forwarded], acknowledged, { status: 'acknowledged' }],
    ['an acknowledgement by the department a letter was transferred to', [registered, acknowledged, toUrb], acknowledged, { status: 'acknowledged', handledBy: ['URB'] }],
    ['an assignment', [registered, forwarded], { type: 'assigned', assignee: 'person-1' }, { assignee: 'person-1', status: 'forwarded' }],
    ['an assignment to someone else', [registered, { type: 'assigned', assignee: 'person-1' }], { type: 'assigned', assignee: 'person-2' }, { assignee: 'person-2' }],
    [
      'a transfer: the new department works it, unacknowledged and unassigned',
      [registered, forwarded, acknowledged, { type: 'assigned', assignee: 'person-1' }],
      toUrb,
      { status: 'transferred', departments: ['RH', 'URB'], handledBy: ['URB'], acknowledged: false, assignee: null, transferred: true },
    ],
    ['a transfer back to the first department', [registered, toUrb], { type: 'transferred', department: 'RH', reason: null }, { departments: ['RH', 'URB'], handledBy: ['RH'] }],
    ['a note on an open letter', [registered, forwarded], { type: 'note_added', text: 'Appelé le demandeur.' }, { status: 'forwarded' }],
    ['a note on a closed letter', [registered, closedUnanswered], { type: 'note_added', text: 'Archivé au dossier 12.' }, { status: 'closed', closed: true }],
    ['an answer', [registered, forwarded, acknowledged], answered, { status: 'answered', answers: ['2026-D-000001'] }],
    ['a second answer', [registered, answered], { type: 'answered', answer: '2026-D-000002' }, { answers: ['2026-D-000001', '2026-D-000002'] }],
    ['an answer to a closed letter, which stays closed', [registered, closedUnanswered], answered, { status: 'closed', answers: ['2026-D-000001'] }],
    ['a failed delivery of a closed letter', [registered, closedUnanswered], { type: 'delivery_failed', delivery: 1, code: 'smtp.refused', department: 'RH' }, { status: 'closed' }],
    ['a later due date', [withDueDate], { type: 'deadline_extended', dueDate: '2027-01-29', reason: 'Avis juridique attendu.' }, { dueDate: '2027-01-29', extensions: 1 }],
    ['a reminder before the due date', [withDueDate], { type: 'reminded', dueDate: '2026-12-31' }, { remindedFor: '2026-12-31' }],
    ['a reminder for an extended due date', [withDueDate, { type: 'reminded', dueDate: '2026-12-31' }, { type: 'deadline_extended', dueDate: '2027-01-29', reason: 'x' }], { type: 'reminded', dueDate: '2027-01-29' }, { remindedFor: '2027-01-29' }],
    ['a due date passed unanswered', [withDueDate], { type: 'overdue', dueDate: '2026-12-31' }, { overdueFor: '2026-12-31', status: 'registered' }],
    ['a close as answered once answered', [registered, answered], { type: 'closed', outcome: 'answered' }, { status: 'closed', closed: true, outcome: 'answered' }],
    ['a close with no answer needed', [registered, forwarded], closedUnanswered, { status: 'closed', outcome: 'no_answer_needed' }],
    ['a close as sent elsewhere', [registered], { type: 'closed', outcome: 'sent_elsewhere' }, { status: 'closed', outcome: 'sent_elsewhere' }],
    ['a close as withdrawn', [registered, acknowledged], { type: 'closed', outcome: 'withdrawn' }, { status: 'closed', outcome: 'withdrawn' }],
    ['a reopening: the letter stands where it stood before the close', [registered, forwarded, acknowledged, closedUnanswered], reopened, { status: 'acknowledged', closed: false, outcome: null, reopenings: 1 }],
    ['a reopening of an answered letter', [registered, answered, { type: 'closed', outcome: 'answered' }], reopened, { status: 'answered', reopenings: 1 }],
    ['a second reopening', [registered, closedUnanswered, reopened, closedUnanswered], reopened, { reopenings: 2 }],
    ['a close of a reopened letter', [registered, closedUnanswered, reopened], { type: 'closed', outcome: 'withdrawn' }, { status: 'closed', outcome: 'withdrawn', reopenings: 1 }],
  ];

  it.each(allowed)('%s', (_, history, event, expected) => {
    const step = transition(after(...history), event, origin);
    expect(step.allowed).toBe(true);
    if (step.allowed) expect(step.state).toMatchObject(expected);
  });

  it('the registration of a letter with no history yet, to the departments it was registered to', () => {
    const step = transition(undefined, withDueDate, { departments: ['URB', 'RH'] });
    expect(step.allowed).toBe(true);
    if (step.allowed) {
      expect(step.state).toMatchObject({ status: 'registered', departments: ['RH', 'URB'], handledBy: ['RH', 'URB'], dueDate: '2026-12-31', assignee: null, answers: [], closed: false });
    }
  });
});

describe('steps a letter refuses', () => {
  const refused: [string, LetterEvent[], LetterEvent, string, Record<string, string>][] = [
    ['an acknowledgement of a closed letter', [registered, forwarded, closedUnanswered], acknowledged, 'letter.closed', { outcome: 'no_answer_needed' }],
    ['an assignment of a closed letter', [registered, closedUnanswered], { type: 'assigned', assignee: 'person-1' }, 'letter.closed', { outcome: 'no_answer_needed' }],
    ['a transfer of a closed letter', [registered, closedUnanswered], toUrb, 'letter.closed', { outcome: 'no_answer_needed' }],
    ['a close of a closed letter', [registered, closedUnanswered], { type: 'closed', outcome: 'withdrawn' }, 'letter.closed', { outcome: 'no_answer_needed' }],
    ['a close of a letter closed before outcomes were asked', [registered, { type: 'closed', outcome: null }], closedUnanswered, 'letter.closed', { outcome: '' }],
    ['a deadline extension of a closed letter', [withDueDate, closedUnanswered], { type: 'deadline_extended', dueDate: '2027-01-29', reason: 'x' }, 'letter.closed', { outcome: 'no_answer_needed' }],
    ['a reminder for a closed letter', [withDueDate, closedUnanswered], { type: 'reminded', dueDate: '2026-12-31' }, 'letter.closed', { outcome: 'no_answer_needed' }],
    ['an overdue mark on a closed letter', [withDueDate, closedUnanswered], { type: 'overdue', dueDate: '2026-12-31' }, 'letter.closed', { outcome: 'no_answer_needed' }],
    ['a second acknowledgement', [registered, forwarded, acknowledged], acknowledged, 'letter.already_acknowledged', {}],
    ['an acknowledgement after a reopening of an acknowledged letter', [registered, acknowledged, closedUnanswered, reopened], acknowledged, 'letter.already_acknowledged', {}],
    ['an assignment to the person it is assigned to', [registered, { type: 'assigned', assignee: 'person-1' }], { type: 'assigned', assignee: 'person-1' }, 'letter.already_assigned', { assignee: 'person-1' }],
    ['a transfer to the department that works it alone', [registered, forwarded], { type: 'transferred', department: 'RH', reason: null }, 'letter.already_in_department', { department: 'RH' }],
    ['a transfer to where it was just transferred', [registered, toUrb], toUrb, 'letter.already_in_department', { department: 'URB' }],
    ['a close as answered with no answer', [registered, forwarded, acknowledged], { type: 'closed', outcome: 'answered' }, 'letter.not_answered', {}],
    ['a reopening of an open letter', [registered, forwarded], reopened, 'letter.not_closed', {}],
    ['a reopening of a reopened letter', [registered, closedUnanswered, reopened], reopened, 'letter.not_closed', {}],
    ['a deadline extension of a letter with no due date', [registered], { type: 'deadline_extended', dueDate: '2027-01-29', reason: 'x' }, 'letter.no_due_date', {}],
    ['a due date moved earlier', [withDueDate], { type: 'deadline_extended', dueDate: '2026-12-30', reason: 'x' }, 'letter.deadline_not_later', { dueDate: '2026-12-31' }],
    ['a due date "extended" to itself', [withDueDate], { type: 'deadline_extended', dueDate: '2026-12-31', reason: 'x' }, 'letter.deadline_not_later', { dueDate: '2026-12-31' }],
    ['a reminder for a letter with no due date', [registered], { type: 'reminded', dueDate: '2026-12-31' }, 'letter.no_due_date', {}],
    ['a second reminder for the same due date', [withDueDate, { type: 'reminded', dueDate: '2026-12-31' }], { type: 'reminded', dueDate: '2026-12-31' }, 'letter.already_reminded', { dueDate: '2026-12-31' }],
    ['an overdue mark for a letter with no due date', [registered], { type: 'overdue', dueDate: '2026-12-31' }, 'letter.no_due_date', {}],
    ['a second overdue mark for the same due date', [withDueDate, { type: 'overdue', dueDate: '2026-12-31' }], { type: 'overdue', dueDate: '2026-12-31' }, 'letter.already_overdue', { dueDate: '2026-12-31' }],
    ['a second registration', [registered], registered, 'letter.already_registered', {}],
  ];

  it.each(refused)('%s', (_, history, event, code, params) => {
    expect(transition(after(...history), event, origin)).toEqual({ allowed: false, refusal: { code, params } });
  });

  it('any step but a registration of a letter with no history', () => {
    expect(transition(undefined, acknowledged, origin)).toEqual({ allowed: false, refusal: { code: 'letter.not_registered', params: {} } });
  });
});

describe('where a letter stands, from its history', () => {
  it('follows each step, whoever recorded it', () => {
    const history: LetterEvent[] = [withDueDate, { type: 'receipt_sent' }, forwarded, forwarded, acknowledged, { type: 'assigned', assignee: 'person-1' }, toUrb, { type: 'forwarded', department: 'URB' }];
    expect(after(...history)).toMatchObject({ status: 'transferred', departments: ['RH', 'URB'], handledBy: ['URB'], assignee: null, acknowledged: false, dueDate: '2026-12-31' });
    expect(after(...history, acknowledged, answered, { type: 'answer_delivered', answer: '2026-D-000001' })).toMatchObject({ status: 'answered', acknowledged: true });
  });

  it('replays a history recorded before steps were checked, as it was recorded', () => {
    // Slack's buttons once acknowledged closed letters: the acknowledgement is a fact, and the letter stays closed.
    expect(after(registered, { type: 'closed', outcome: null }, acknowledged)).toMatchObject({ status: 'closed', closed: true, outcome: null, acknowledged: true });
  });

  it('is unknown without any event, and no letter\'s when the history does not begin with its registration', () => {
    expect(stateOf([], origin)).toBeUndefined();
    expect(() => stateOf([acknowledged, registered], origin)).toThrow(expect.objectContaining({ code: 'letter.history_invalid' }));
  });

  it('marks a quarantined letter, still registered', () => {
    expect(after(registered, { type: 'quarantined' })).toMatchObject({ status: 'registered', quarantined: true });
  });
});
