/** What a person types to name staff (an identity, a role, a handle) becomes one, or is refused saying what was expected. */
import { describe, expect, it } from 'vitest';
import { grantOf, handleOf, identityOf } from '../../src/people/people.input.js';

const DEPARTMENTS = [{ code: 'BO' }, { code: 'RH' }, { code: 'URB' }];

describe('staff as typed', () => {
  it('takes email addresses in lower case, Slack and Matrix ids as they are', () => {
    expect(identityOf('email', ' Nadia@Example.GOV ')).toEqual({ channel: 'email', address: 'nadia@example.gov' });
    expect(identityOf('slack', 'W012ABC')).toEqual({ channel: 'slack', address: 'W012ABC' });
    expect(identityOf('matrix', '@Nadia:example.gov:8448')).toEqual({ channel: 'matrix', address: '@Nadia:example.gov:8448' });
  });

  it('refuses what cannot be an identity of its channel, saying the form expected', () => {
    expect(() => identityOf('email', 'nadia')).toThrow('nadia is no email identity: expected an email address, such as nadia@example.gov');
    expect(() => identityOf('slack', 'nadia')).toThrow(/^nadia is no slack identity: expected a Slack user id/);
    expect(() => identityOf('matrix', 'nadia@example.gov')).toThrow('nadia@example.gov is no matrix identity: expected a Matrix user id, such as @nadia:example.gov');
  });

  it('takes a department role with one of the configured departments, in any case, and an office-wide role without one', () => {
    expect(grantOf({ role: 'head', department: 'rh' }, DEPARTMENTS)).toEqual({ role: 'head', department: 'RH' });
    expect(grantOf({ role: 'clerk', department: undefined }, DEPARTMENTS)).toEqual({ role: 'clerk', department: null });
  });

  it('refuses a department role without a department or with an unknown one, and an office-wide role with one', () => {
    expect(() => grantOf({ role: 'member', department: undefined }, DEPARTMENTS)).toThrow(expect.objectContaining({ code: 'person.department_needed', message: "the member role is a department's: give one (departments: BO, RH, URB)" }));
    expect(() => grantOf({ role: 'head', department: 'XX' }, DEPARTMENTS)).toThrow(expect.objectContaining({ code: 'person.department_unknown', message: 'no department has the code XX; departments: BO, RH, URB' }));
    expect(() => grantOf({ role: 'admin', department: 'RH' }, DEPARTMENTS)).toThrow(expect.objectContaining({ code: 'person.department_not_taken', message: "the admin role is the whole office's: give no department" }));
  });

  it('takes a handle in lower case and refuses one that cannot be typed as one word', () => {
    expect(handleOf('Nadia.B')).toBe('nadia.b');
    expect(() => handleOf('nadia benali')).toThrow(expect.objectContaining({ code: 'person.handle_invalid' }));
    expect(() => handleOf('-x')).toThrow(expect.objectContaining({ code: 'person.handle_invalid' }));
  });
});
