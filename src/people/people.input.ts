/**
 * What a person types to name staff (on the command line, later in the web workspace) as the core
 * takes it: an identity, a role with its department, a handle; refused saying what was expected.
 */
import * as z from 'zod';
import { WaslError } from '../errors.js';
import { DEPARTMENT_ROLES, type Grant, type Identity, type IdentityChannel, type Role } from './people.models.js';

const emailAddress = z.email();

/**
 * An identity as typed: email addresses compared in lower case (as routing and the
 * configuration do), Slack and Matrix ids exactly (their platforms do so). Refused with the form
 * expected when it cannot be one.
 */
export function identityOf(channel: IdentityChannel, typed: string): Identity {
  const address = typed.trim();
  const invalid = (expected: string) => new WaslError('person.identity_invalid', `${typed} is no ${channel} identity: expected ${expected}`, { details: { channel, address: typed } });
  switch (channel) {
    case 'email':
      if (!emailAddress.safeParse(address).success) throw invalid('an email address, such as nadia@example.gov');
      return { channel, address: address.toLowerCase() };
    case 'slack':
      // Slack user ids: U… for a workspace's users, W… for an Enterprise Grid's.
      if (!/^[UW][A-Z0-9]{2,}$/.test(address)) throw invalid('a Slack user id, such as U024BE7LH (a member\'s profile, "Copy member ID")');
      return { channel, address };
    case 'matrix':
      if (!/^@[^\s:]+:[^\s:]+(?::\d+)?$/.test(address)) throw invalid('a Matrix user id, such as @nadia:example.gov');
      return { channel, address };
  }
}

/** A role as given with its department: member and head need one of the configured departments, the others take none. */
export function grantOf({ role, department }: { role: Role; department: string | undefined }, departments: readonly { code: string }[]): Grant {
  const known = departments.map((each) => each.code);
  if (!DEPARTMENT_ROLES.includes(role)) {
    if (department !== undefined) throw new WaslError('person.department_not_taken', `the ${role} role is the whole office's: give no department`, { details: { role, department } });
    return { role, department: null };
  }
  if (department === undefined) throw new WaslError('person.department_needed', `the ${role} role is a department's: give one (departments: ${known.join(', ')})`, { details: { role } });
  const code = department.toUpperCase();
  if (!known.includes(code)) throw new WaslError('person.department_unknown', `no department has the code ${department}; departments: ${known.join(', ')}`, { details: { department } });
  return { role, department: code };
}

/** A handle is typed on command lines: a short word, no spaces, in lower case whatever case it was typed in. */
export function handleOf(typed: string): string {
  const handle = typed.toLowerCase();
  if (!/^[a-z0-9][a-z0-9._-]{0,31}$/.test(handle)) {
    throw new WaslError('person.handle_invalid', `${typed} cannot be a handle: letters, digits, ".", "_" or "-", at most 32, starting with a letter or digit`, { details: { handle: typed } });
  }
  return handle;
}
