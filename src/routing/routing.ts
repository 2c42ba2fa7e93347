/**
 * Routing rules: which department a destination reaches, and what an address of the gateway's
 * own domain means (a department, or an answer to a letter).
 */
import type { DepartmentView, RecipientRoute } from '../channels/port.js';
import type { DepartmentConfig } from '../config/config.schema.js';

/** The local-part prefix of the answer addresses the gateway makes itself (RFC 5233 subaddressing). */
export const ANSWER_PREFIX = 'reply+';

/** RFC 5321 §4.5.1: every mail domain has a postmaster, reachable as well without a domain (`<postmaster>`). */
const POSTMASTER = 'postmaster';

export interface Router {
  departments: readonly DepartmentView[];
  department(code: string): DepartmentView | undefined;
  routeRecipient(address: string): RecipientRoute;
  /** A department code (any case) or one of its addresses -> the department's code. */
  resolveDestination(destination: string): string | undefined;
}

/**
 * `mailOffice`: the code of the department that reads the postmaster's mail (the mail office);
 * unset, the first department listed.
 */
export function createRouter({
  domain,
  departments,
  mailOffice,
}: {
  domain: string;
  departments: readonly DepartmentConfig[];
  mailOffice?: string | undefined;
}): Router {
  const views: DepartmentView[] = departments.map((department) => ({
    code: department.code,
    names: department.names,
    addresses: department.addresses,
    channels: department.channels,
  }));
  const byCode = new Map(views.map((view) => [view.code, view]));
  const byAddress = new Map(views.flatMap((view) => view.addresses.map((address) => [address, view.code] as const)));
  const mailOfficeCode = mailOffice ?? views[0]?.code;
  const postmaster: RecipientRoute = mailOfficeCode ? { kind: 'department', code: mailOfficeCode } : { kind: 'unknown' };

  function routeRecipient(address: string): RecipientRoute {
    const normalized = address.trim().toLowerCase();
    if (normalized === POSTMASTER) return postmaster;
    const at = normalized.lastIndexOf('@');
    if (at < 1 || normalized.slice(at + 1) !== domain) return { kind: 'foreign' };
    const code = byAddress.get(normalized);
    if (code) return { kind: 'department', code };
    const localPart = normalized.slice(0, at);
    if (localPart === POSTMASTER) return postmaster;
    if (localPart.startsWith(ANSWER_PREFIX) && localPart.length > ANSWER_PREFIX.length) {
      return { kind: 'answer', token: localPart.slice(ANSWER_PREFIX.length) };
    }
    return { kind: 'unknown' };
  }

  return {
    departments: views,
    department: (code) => byCode.get(code.toUpperCase()),
    routeRecipient,
    resolveDestination(destination) {
      const trimmed = destination.trim();
      if (byCode.has(trimmed.toUpperCase())) return trimmed.toUpperCase();
      const route = routeRecipient(trimmed);
      return route.kind === 'department' ? route.code : undefined;
    },
  };
}
