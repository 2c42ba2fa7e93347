/** The office's staff as the core sees them: roles, and the identities a channel knows a person by. */

/**
 * A mail-office clerk registers, routes and transfers, and sees every letter; a department's member
 * works its letters; its head also assigns, extends deadlines and closes; an administrator keeps the
 * configuration and the people. What each may do is permissions.ts's.
 */
export const ROLES = ['clerk', 'member', 'head', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Roles held within one department; the others hold for the whole office. */
export const DEPARTMENT_ROLES: readonly Role[] = ['member', 'head'];

/** The channels a person acts on, each with its own form of address. */
export const IDENTITY_CHANNELS = ['email', 'slack', 'matrix'] as const;
export type IdentityChannel = (typeof IDENTITY_CHANNELS)[number];

export interface Identity {
  channel: IdentityChannel;
  /** An email address in lower case, a Slack user id, a Matrix user id. */
  address: string;
}

export interface Grant {
  role: Role;
  /** The department a member or head belongs to; null for a clerk or an administrator. */
  department: string | null;
}

export interface Person {
  id: number;
  handle: string;
  name: string;
  grants: Grant[];
  identities: Identity[];
  addedAt: Date;
  /** When they left the staff: they act no more, and the history still names them. */
  removedAt: Date | null;
}

/** A grant as people read it: "head RH", "clerk". */
export function describeGrant({ role, department }: Grant): string {
  return department === null ? role : `${role} ${department}`;
}
