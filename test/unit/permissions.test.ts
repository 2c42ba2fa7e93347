/**
 * Who may do what to a letter: every role on every action, on a letter of its own department and
 * of another, and the refusal each asker reads, in each language.
 */
import { describe, expect, it } from 'vitest';
import { LANGUAGES } from '../../src/config/config.schema.js';
import type { Grant, Person, Role } from '../../src/people/people.models.js';
import { ACTIONS, can, type Action, type Asker } from '../../src/people/permissions.js';
import { refusalText } from '../../src/people/refusal-text.js';
import { loadTemplates } from '../../src/templates/templates.js';

const ADDED = new Date('2026-01-05T09:00:00Z');

function staff(grants: Grant[], overrides: Partial<Person> = {}): Person {
  return { id: 1, handle: 'nadia', name: 'Nadia Benali', grants, identities: [{ channel: 'slack', address: 'U0NADIA' }], addedAt: ADDED, removedAt: null, ...overrides };
}
const asker = (person: Person | undefined): Asker => ({ identity: { channel: 'slack', address: 'U0NADIA' }, person });

const OWN = { number: '2026-A-000123', departments: ['RH'] };
const OTHER = { number: '2026-A-000124', departments: ['URB'] };

/** What the office's rules say each role may do, on its own department's letter and on another's. */
const EXPECTED: Record<Role, { own: Action[]; other: Action[] }> = {
  clerk: { own: ['see', 'register', 'transfer', 'note', 'reopen'], other: ['see', 'register', 'transfer', 'note', 'reopen'] },
  member: { own: ['see', 'acknowledge', 'transfer', 'note'], other: [] },
  head: { own: ['see', 'acknowledge', 'assign', 'transfer', 'note', 'extend_deadline', 'close', 'reopen'], other: [] },
  admin: { own: [], other: [] },
};
const grantFor = (role: Role): Grant => ({ role, department: role === 'member' || role === 'head' ? 'RH' : null });

describe('permissions', () => {
  describe.each(Object.keys(EXPECTED) as Role[])('a %s', (role) => {
    it.each(ACTIONS.map((action) => [action]))('%s: on its own department\'s letter and on another\'s', (action) => {
      const person = staff([grantFor(role)]);
      const allowed = (letter: typeof OWN) => can(asker(person), action, letter).allowed;
      expect({ own: allowed(OWN), other: allowed(OTHER) }).toEqual({ own: EXPECTED[role].own.includes(action), other: EXPECTED[role].other.includes(action) });
    });
  });

  it('lets a person holding several roles do what any of them allows, each in its own department', () => {
    const person = staff([
      { role: 'member', department: 'RH' },
      { role: 'head', department: 'URB' },
    ]);
    expect(can(asker(person), 'close', OTHER)).toEqual({ allowed: true, person });
    expect(can(asker(person), 'close', OWN).allowed).toBe(false);
    expect(can(asker(person), 'acknowledge', OWN).allowed).toBe(true);
  });

  it('lets a department act on a letter it shares with another', () => {
    const shared = { number: '2026-A-000125', departments: ['URB', 'RH'] };
    expect(can(asker(staff([{ role: 'member', department: 'RH' }])), 'acknowledge', shared).allowed).toBe(true);
  });

  it('refuses an identity that names no one, saying which', () => {
    expect(can({ identity: { channel: 'email', address: 'stranger@citizen.test' }, person: undefined }, 'close', OWN)).toEqual({
      allowed: false,
      refusal: { code: 'person.unknown', params: { channel: 'email', identity: 'stranger@citizen.test' } },
    });
  });

  it('refuses a removed person whatever roles they held', () => {
    const removed = staff([{ role: 'clerk', department: null }], { removedAt: new Date('2026-02-01T00:00:00Z') });
    expect(can(asker(removed), 'see', OWN)).toEqual({ allowed: false, refusal: { code: 'person.removed', params: { person: 'Nadia Benali', handle: 'nadia' } } });
  });

  it('refuses a person without the right with what a message needs: who, the action, the letter, its departments and their roles', () => {
    expect(can(asker(staff([{ role: 'member', department: 'RH' }])), 'close', OWN)).toEqual({
      allowed: false,
      refusal: {
        code: 'person.not_allowed',
        params: { person: 'Nadia Benali', handle: 'nadia', action: 'close', number: '2026-A-000123', departments: ['RH'], grants: [{ role: 'member', department: 'RH' }] },
      },
    });
  });
});

describe('a refusal as the asker reads it', () => {
  const templates = loadTemplates();
  const say = (decision: ReturnType<typeof can>, language: (typeof LANGUAGES)[number]) => {
    if (decision.allowed) throw new Error('expected a refusal');
    return refusalText({ refusal: decision.refusal, language, strings: templates.strings(language) });
  };
  const member = staff([{ role: 'member', department: 'RH' }]);

  it('names the person, their roles, the action, the letter and its departments, in English and French', () => {
    expect(say(can(asker(member), 'close', OWN), 'en')).toBe('Refused (closing): Nadia Benali (member of RH) may not do this to letter 2026-A-000123, handled by RH. Nothing was changed.');
    expect(say(can(asker(member), 'register', { departments: ['URB'] }), 'fr')).toBe("Action refusée (enregistrement) : Nadia Benali (membre de RH) n'en a pas le droit pour URB. Rien n'a été modifié.");
    expect(say(can({ identity: { channel: 'email', address: 'stranger@citizen.test' }, person: undefined }, 'note', OWN), 'en')).toBe(
      "stranger@citizen.test (email) is not on the mail office's staff: nothing was changed. An administrator adds staff with wasl people add.",
    );
    expect(say(can(asker(staff([])), 'see', OTHER), 'en')).toContain('Nadia Benali (no role)');
  });

  it('sets the letter number apart in Arabic, so it reads as written', () => {
    expect(say(can(asker(member), 'close', OWN), 'ar')).toContain('\u20682026-A-000123\u2069');
  });

  it('has every sentence and every word in each language: no placeholder is left unfilled', () => {
    const removed = staff([], { removedAt: ADDED });
    for (const language of LANGUAGES) {
      const texts = [
        say(can({ identity: { channel: 'matrix', address: '@x:example.test' }, person: undefined }, 'see', OWN), language),
        say(can(asker(removed), 'see', OWN), language),
        say(can(asker(staff([])), 'register', { departments: [] }), language),
        ...(['clerk', 'member', 'head', 'admin'] as const).flatMap((role) => ACTIONS.map((action) => can(asker(staff([grantFor(role)])), action, OTHER)).filter((decision) => !decision.allowed).map((decision) => say(decision, language))),
      ];
      for (const text of texts) expect({ language, text }).toEqual({ language, text: expect.not.stringMatching(/[{}]|undefined/) });
    }
  });
});
