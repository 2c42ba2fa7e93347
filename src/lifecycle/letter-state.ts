/**
 * Where a letter stands, derived from its events in this one place, and what may happen to it
 * next. Pure: no register, no clock. `transition` decides whether a step is allowed; `stateOf`
 * replays a history as it was recorded, without judging it again (rows written before these rules
 * existed, such as an acknowledgement after a close, are facts all the same).
 */
import type { LetterStatus } from '../channels/port.js';
import { WaslError } from '../errors.js';
import type { CloseOutcome, Day, LetterEvent } from './letter-events.js';

export interface LetterState {
  /** The status the listings show (`letters.status` is its projection). */
  status: LetterStatus;
  /** Every department that has had the letter: those it was registered to, then those it was transferred to. */
  departments: string[];
  /** The departments working it now: those it was registered to until a transfer, then the transfer's. */
  handledBy: string[];
  /** The person id it is assigned to, within the departments working it. */
  assignee: string | null;
  /** Acknowledged by the departments working it now (a transfer hands it over unacknowledged). */
  acknowledged: boolean;
  forwarded: boolean;
  transferred: boolean;
  quarantined: boolean;
  /** The numbers of its answers, oldest first. */
  answers: string[];
  dueDate: Day | null;
  extensions: number;
  /** The due date a reminder was sent for, and whether that date has passed unanswered. */
  remindedFor: Day | null;
  overdueFor: Day | null;
  closed: boolean;
  /** How it was closed; null while open, and for letters closed before outcomes were asked. */
  outcome: CloseOutcome | null;
  reopenings: number;
}

/** Why a step is refused: a stable code, and what a message about it needs. */
export interface Refusal {
  code: RefusalCode;
  params: Record<string, string>;
}

export const REFUSAL_CODES = [
  'letter.not_registered',
  'letter.already_registered',
  'letter.closed',
  'letter.not_closed',
  'letter.already_acknowledged',
  'letter.already_assigned',
  'letter.already_in_department',
  'letter.not_answered',
  'letter.no_due_date',
  'letter.deadline_not_later',
  'letter.already_reminded',
  'letter.already_overdue',
] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

export type Transition = { allowed: true; state: LetterState } | { allowed: false; refusal: Refusal };

/** Facts of a letter kept outside its events: the departments sealed in its register entry. */
export interface LetterOrigin {
  departments: readonly string[];
}

/**
 * The state of a letter whose history is `events`, oldest first: undefined for none. A history that
 * does not begin with the registration is no letter's (WaslError `letter.history_invalid`).
 */
export function stateOf(events: readonly LetterEvent[], origin: LetterOrigin): LetterState | undefined {
  const [first, ...rest] = events;
  if (!first) return undefined;
  const registered = registration(first, origin);
  if (!registered) throw new WaslError('letter.history_invalid', `a letter's history begins with "${first.type}", not with its registration`);
  return rest.reduce(evolve, registered);
}

/** Whether `event` may happen to a letter in `state` (undefined: not registered), and the state it leads to. */
export function transition(state: LetterState | undefined, event: LetterEvent, origin: LetterOrigin): Transition {
  if (!state) {
    const registered = registration(event, origin);
    return registered ? { allowed: true, state: registered } : { allowed: false, refusal: refused('letter.not_registered') };
  }
  const refusal = refusalOf(state, event);
  return refusal ? { allowed: false, refusal } : { allowed: true, state: evolve(state, event) };
}

function refused(code: RefusalCode, params: Record<string, string> = {}): Refusal {
  return { code, params };
}

/** The one reason `event` may not happen now, if there is one. */
function refusalOf(state: LetterState, event: LetterEvent): Refusal | undefined {
  // The world's answers to what we sent are facts whatever the letter's state: recorded as they come.
  if (RECORDS_ONLY.has(event.type)) return undefined;
  if (event.type === 'registered') return refused('letter.already_registered');
  if (event.type === 'reopened') return state.closed ? undefined : refused('letter.not_closed');
  // A closed letter is still annotated: a note changes nothing of how it stands.
  if (event.type === 'note_added') return undefined;
  if (state.closed) return refused('letter.closed', { outcome: state.outcome ?? '' });
  switch (event.type) {
    case 'acknowledged':
      return state.acknowledged ? refused('letter.already_acknowledged') : undefined;
    case 'assigned':
      return state.assignee === event.assignee ? refused('letter.already_assigned', { assignee: event.assignee }) : undefined;
    case 'transferred':
      return state.handledBy.length === 1 && state.handledBy[0] === event.department ? refused('letter.already_in_department', { department: event.department }) : undefined;
    case 'closed':
      return event.outcome === 'answered' && state.answers.length === 0 ? refused('letter.not_answered') : undefined;
    case 'deadline_extended':
      if (!state.dueDate) return refused('letter.no_due_date');
      return event.dueDate > state.dueDate ? undefined : refused('letter.deadline_not_later', { dueDate: state.dueDate });
    case 'reminded':
      if (!state.dueDate) return refused('letter.no_due_date');
      return state.remindedFor === state.dueDate ? refused('letter.already_reminded', { dueDate: state.dueDate }) : undefined;
    case 'overdue':
      if (!state.dueDate) return refused('letter.no_due_date');
      return state.overdueFor === state.dueDate ? refused('letter.already_overdue', { dueDate: state.dueDate }) : undefined;
  }
  return undefined;
}

/** Events that record what the channels did or what the mail office must know, never a decision: always allowed. */
const RECORDS_ONLY: ReadonlySet<LetterEvent['type']> = new Set([
  'quarantined',
  'message_id_reused',
  'forwarded',
  'receipt_sent',
  'receipt_undeliverable',
  'delivery_failed',
  'answered',
  'answer_delivered',
]);

function registration(event: LetterEvent, origin: LetterOrigin): LetterState | undefined {
  if (event.type !== 'registered') return undefined;
  const departments = [...origin.departments].sort();
  return {
    status: 'registered',
    departments,
    handledBy: departments,
    assignee: null,
    acknowledged: false,
    forwarded: false,
    transferred: false,
    quarantined: false,
    answers: [],
    dueDate: event.dueDate,
    extensions: 0,
    remindedFor: null,
    overdueFor: null,
    closed: false,
    outcome: null,
    reopenings: 0,
  };
}

/** What `event` changes, allowed or not (see `stateOf`). */
function evolve(state: LetterState, event: LetterEvent): LetterState {
  const next = nextFacts(state, event);
  return { ...next, status: statusOf(next) };
}

function nextFacts(state: LetterState, event: LetterEvent): LetterState {
  switch (event.type) {
    case 'quarantined':
      return { ...state, quarantined: true };
    case 'forwarded':
      return { ...state, forwarded: true };
    case 'assigned':
      return { ...state, assignee: event.assignee };
    case 'acknowledged':
      return { ...state, acknowledged: true };
    case 'transferred':
      return {
        ...state,
        departments: [...new Set([...state.departments, event.department])].sort(),
        handledBy: [event.department],
        // The new department acknowledges and assigns for itself.
        assignee: null,
        acknowledged: false,
        transferred: true,
      };
    case 'answered':
      return { ...state, answers: [...state.answers, event.answer] };
    case 'deadline_extended':
      return { ...state, dueDate: event.dueDate, extensions: state.extensions + 1 };
    case 'reminded':
      return { ...state, remindedFor: event.dueDate };
    case 'overdue':
      return { ...state, overdueFor: event.dueDate };
    case 'closed':
      return { ...state, closed: true, outcome: event.outcome };
    case 'reopened':
      return { ...state, closed: false, outcome: null, reopenings: state.reopenings + 1 };
    case 'registered':
    case 'message_id_reused':
    case 'receipt_sent':
    case 'receipt_undeliverable':
    case 'delivery_failed':
    case 'answer_delivered':
    case 'note_added':
      return state;
  }
}

/** The furthest a letter has gone: closed, else answered, else acknowledged by those working it, else transferred, forwarded, registered. */
function statusOf(state: Omit<LetterState, 'status'>): LetterStatus {
  if (state.closed) return 'closed';
  if (state.answers.length > 0) return 'answered';
  if (state.acknowledged) return 'acknowledged';
  if (state.transferred) return 'transferred';
  if (state.forwarded) return 'forwarded';
  return 'registered';
}
