/**
 * Who may do what to a letter, decided in the core whatever channel asked: pure, so every channel
 * gets the same answer and the table below is the one place the office's rules are read. A
 * refusal carries a stable code and the facts a channel needs to say it (refusal-text.ts).
 */
import type { Grant, Person, Role } from './people.models.js';

export const ACTIONS = ['see', 'register', 'acknowledge', 'assign', 'transfer', 'note', 'extend_deadline', 'close', 'reopen'] as const;
export type Action = (typeof ACTIONS)[number];

/**
 * What each role may do: on any letter (the mail office's clerk: registers at the counter, routes
 * and transfers, sees all), or on its own department's letters (a member works them; the head also
 * assigns, extends deadlines, closes and reopens). An administrator keeps the configuration and the
 * people, not the letters: one who also works letters holds a second role.
 */
const RIGHTS: Record<Role, { anyLetter: readonly Action[]; ownDepartment: readonly Action[] }> = {
  clerk: { anyLetter: ['see', 'register', 'transfer', 'note', 'reopen'], ownDepartment: [] },
  member: { anyLetter: [], ownDepartment: ['see', 'acknowledge', 'transfer', 'note'] },
  head: { anyLetter: [], ownDepartment: ['see', 'acknowledge', 'transfer', 'note', 'assign', 'extend_deadline', 'close', 'reopen'] },
  admin: { anyLetter: [], ownDepartment: [] },
};

/** The letter asked about: its number (none yet for `register`) and the departments handling it now. */
export interface LetterContext {
  number?: string | undefined;
  departments: readonly string[];
}

/**
 * Who asks: the identity the channel reported (any channel's: one no person can hold names no one),
 * and the present person it names, undefined when none (people.repository.ts askerOf).
 */
export interface Asker {
  identity: { channel: string; address: string };
  person: Person | undefined;
}

export type Refusal =
  | { code: 'person.unknown'; params: { channel: string; identity: string } }
  | { code: 'person.removed'; params: { person: string; handle: string } }
  | { code: 'person.not_allowed'; params: { person: string; handle: string; action: Action; number: string | undefined; departments: readonly string[]; grants: readonly Grant[] } };

export type Decision = { allowed: true; person: Person } | { allowed: false; refusal: Refusal };

function grantAllows({ role, department }: Grant, action: Action, letter: LetterContext): boolean {
  const rights = RIGHTS[role];
  if (rights.anyLetter.includes(action)) return true;
  return department !== null && rights.ownDepartment.includes(action) && letter.departments.includes(department);
}

export function can({ identity, person }: Asker, action: Action, letter: LetterContext): Decision {
  if (!person) return { allowed: false, refusal: { code: 'person.unknown', params: { channel: identity.channel, identity: identity.address } } };
  if (person.removedAt !== null) return { allowed: false, refusal: { code: 'person.removed', params: { person: person.name, handle: person.handle } } };
  if (person.grants.some((grant) => grantAllows(grant, action, letter))) return { allowed: true, person };
  return {
    allowed: false,
    refusal: {
      code: 'person.not_allowed',
      params: { person: person.name, handle: person.handle, action, number: letter.number, departments: letter.departments, grants: person.grants },
    },
  };
}
