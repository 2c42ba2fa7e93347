/**
 * SPF, DKIM and DMARC for every letter, with mailauth. The DNS resolver is injectable so that
 * tests (and closed networks) answer from their own records; the default one caches answers,
 * because every letter of a busy sender asks the same questions.
 */
import { Resolver } from 'node:dns/promises';
import { authenticate, type MailauthResolver } from 'mailauth';
import type { SenderAuthentication } from '../../src/channels/port.js';

/** Answers like `dns.promises.resolve(name, rrtype)`; a missing name rejects with `code` ENOTFOUND or ENODATA. */
export type DnsResolver = MailauthResolver;

/** What the intake does with a letter that fails DMARC. */
export type DmarcPolicy = 'accept' | 'quarantine' | 'reject';

export interface SenderVerdicts extends SenderAuthentication {
  /** DMARC failed and the domain itself asks receivers to act (p=quarantine or p=reject). */
  dmarcFailed: boolean;
}

/**
 * Names that cannot exist in the public DNS (RFC 6761 §6.2–6.5, RFC 6762 for .local, RFC 8375):
 * asking for them only leaks the office's traffic to the upstream resolver.
 */
const SPECIAL_USE_SUFFIXES = ['.test', '.example', '.invalid', '.localhost', '.local', '.home.arpa'];

function notFound(name: string): Error {
  return Object.assign(new Error(`${name}: special-use name, not looked up`), { code: 'ENOTFOUND' });
}

/** Answers that mean "no such record": worth remembering like any answer. Timeouts are not. */
const DEFINITE_ERRORS = new Set(['ENOTFOUND', 'ENODATA']);

/**
 * The system's resolver (or the configured servers), with a small cache of answers and of
 * definite "no such record" replies. Bounded: the oldest entries go first.
 */
export function cachingDnsResolver({
  servers,
  timeoutMs,
  ttlMs = 300_000,
  maxEntries = 10_000,
  now = () => Date.now(),
}: {
  servers: readonly string[];
  timeoutMs: number;
  ttlMs?: number;
  maxEntries?: number;
  now?: () => number;
}): DnsResolver {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
  if (servers.length > 0) resolver.setServers([...servers]);
  const cache = new Map<string, { at: number; answer: Promise<unknown> }>();

  return (name, rrtype) => {
    const lower = name.toLowerCase().replace(/\.$/, '');
    const key = `${rrtype} ${lower}`;
    const cached = cache.get(key);
    if (cached && now() - cached.at < ttlMs) return cached.answer;
    // A special-use name is refused without asking, and the refusal kept like any answer: its Error,
    // stack and all, cost more than the rest of the letter's SPF check (profiled).
    const answer = SPECIAL_USE_SUFFIXES.some((suffix) => lower.endsWith(suffix) || `.${lower}` === suffix)
      ? Promise.reject(notFound(name))
      : resolver.resolve(lower, rrtype);
    cache.delete(key);
    cache.set(key, { at: now(), answer });
    answer.catch((error: { code?: string }) => {
      if (!DEFINITE_ERRORS.has(error.code ?? '')) cache.delete(key);
    });
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
    return answer;
  };
}

/** Several DKIM signatures: one that passes is enough; otherwise the first one's verdict. */
function dkimVerdict(results: { status: { result: string } }[] | undefined): string {
  if (!results || results.length === 0) return 'none';
  return results.find((row) => row.status.result === 'pass')?.status.result ?? results[0]!.status.result;
}

/** The Authentication-Results header mailauth composed, as one line without its name and host. */
function summaryOf(headers: string): string | undefined {
  const header = /^Authentication-Results:[^;]*;((?:.*\r?\n?[ \t].*)*|.*)$/im.exec(headers);
  return header?.[1]?.replace(/\s+/g, ' ').trim() || undefined;
}

export function createSenderAuthenticator({ resolver, hostname }: { resolver: DnsResolver; hostname: string }) {
  return async function verifySender({
    raw,
    clientAddress,
    helo,
    mailFrom,
  }: {
    raw: Buffer;
    clientAddress: string;
    helo: string | undefined;
    mailFrom: string;
  }): Promise<SenderVerdicts> {
    const result = await authenticate(raw, {
      ip: clientAddress,
      helo,
      sender: mailFrom,
      mta: hostname,
      resolver,
      // The client address is what we saw on the socket; Received headers are the sender's to write.
      trustReceived: false,
      disableArc: true,
      disableBimi: true,
    });
    const dmarc = result.dmarc || undefined;
    const policy = dmarc?.policy?.toLowerCase();
    return {
      spf: result.spf ? result.spf.status.result : 'none',
      dkim: dkimVerdict(result.dkim.results),
      dmarc: dmarc?.status.result ?? 'none',
      domain: dmarc?.domain ?? result.dkim.headerFrom?.[0]?.split('@').pop(),
      summary: summaryOf(result.headers),
      dmarcFailed: dmarc?.status.result === 'fail' && (policy === 'quarantine' || policy === 'reject'),
    };
  };
}

export type SenderAuthenticator = ReturnType<typeof createSenderAuthenticator>;
