/**
 * What the register knows about who wrote a letter, read back from its `authentication` column and
 * put in the forms the rest of the office uses: the sealed entry, and the sender as people see it.
 */
import type { SenderAuthentication } from '../channels/port.js';
import type { SenderAuthenticationEntry } from '../evidence/statement.js';

export type SenderVerdict = SenderAuthentication['verdict'];

/**
 * The column as the register keeps it. Letters registered before verdicts were kept in full hold
 * only `{ spf, dkim, dmarc, domain, summary }`: those read as email verdicts, verified only when
 * DMARC passed.
 */
export function readSenderAuthentication(column: string | null): SenderAuthentication | undefined {
  if (column === null) return undefined;
  const stored = JSON.parse(column) as Partial<SenderAuthentication> & { spf?: string; dkim?: string; dmarc?: string; domain?: string; summary?: string };
  if (stored.verdict !== undefined) return stored as SenderAuthentication;
  return {
    verdict: stored.dmarc === 'pass' ? 'verified' : 'unverified',
    domain: stored.domain ?? null,
    spf: stored.spf ?? 'none',
    spfDomain: null,
    dkim: stored.dkim ?? 'none',
    dkimSignatures: [],
    dmarc: stored.dmarc ?? 'none',
    dmarcPolicy: null,
    summary: stored.summary,
  };
}

/** The verdicts as a register entry seals them; null when the channel checked nothing. */
export function authenticationEntryOf(authentication: SenderAuthentication | undefined): SenderAuthenticationEntry | null {
  if (!authentication) return null;
  if (authentication.verdict === 'platform') return { verdict: 'platform', authority: authentication.authority };
  return {
    verdict: authentication.verdict,
    fromDomain: authentication.domain,
    spf: { result: authentication.spf, domain: authentication.spfDomain },
    dkim: authentication.dkimSignatures.map((signature) => ({ result: signature.result, domain: signature.domain })),
    dmarc: { result: authentication.dmarc, policy: authentication.dmarcPolicy },
  };
}

/** Unchecked senders are unverified: only a proof makes a sender known. */
export function senderVerdictOf(authentication: SenderAuthentication | undefined): SenderVerdict {
  return authentication?.verdict ?? 'unverified';
}

/** The checks in one line, the same in every language (they are protocol names): "SPF fail, DKIM none, DMARC fail". */
export function senderChecksOf(authentication: SenderAuthentication | undefined): string | undefined {
  if (!authentication || authentication.verdict === 'platform') return undefined;
  const dkim = authentication.dkimSignatures.length > 0 ? authentication.dkimSignatures.map((signature) => `${signature.result} (${signature.domain ?? '?'})`).join(', ') : authentication.dkim;
  return `SPF ${authentication.spf}, DKIM ${dkim}, DMARC ${authentication.dmarc}`;
}

/** Characters that make a display name look like, or break out of, an address (RFC 5322 §3.2.3 specials). */
const ADDRESS_LIKE = /[@<>"\\,;:()[\]]/;

/**
 * The sender as a person reads it: `Name <address>`, the address always shown. A name that looks
 * like an address (`Director General <dg@ministry.example>`) is quoted and escaped as RFC 5322
 * §3.2.4 writes it, so the real address cannot be mistaken for part of it.
 */
export function senderLine({ id, name }: { id: string; name: string | null | undefined }): string {
  const shown = name?.replace(/\s+/g, ' ').trim();
  if (!shown || shown === id) return id;
  const safe = ADDRESS_LIKE.test(shown) ? `"${shown.replace(/[\\"]/g, (character) => `\\${character}`)}"` : shown;
  return `${safe} <${id}>`;
}

/**
 * The sender as mails and pages show them: the line, whether it is unverified (shown so), the
 * checks behind the verdict, and the platform that vouches for a chat account. Booleans, not
 * verdict words: templates set one-line words apart for right-to-left text, and would no longer
 * recognise them.
 */
export function senderView({ id, name, authentication }: { id: string; name: string | null; authentication: SenderAuthentication | undefined }) {
  return {
    sender: senderLine({ id, name }),
    senderUnverified: senderVerdictOf(authentication) === 'unverified',
    senderChecks: senderChecksOf(authentication),
    senderAuthority: authentication?.verdict === 'platform' ? (authentication.authority ?? undefined) : undefined,
  };
}
