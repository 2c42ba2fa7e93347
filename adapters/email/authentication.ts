/**
 * SPF, DKIM and DMARC for every letter, with mailauth. The DNS resolver is injectable so that
 * tests (and closed networks) answer from their own records.
 *
 * A mail office must take a letter even when the DNS does not answer (a laptop offline, a closed
 * network): each question has a short time limit, each letter an overall budget, and a question
 * that failed is not asked again for a while. What could not be checked is recorded as
 * `temperror` (RFC 7208 §2.6.6, RFC 7489 §6.6.2), never a reason to hold the sender.
 */
import { Resolver } from 'node:dns/promises';
import { authenticate, type AuthenticationResult, type MailauthResolver } from 'mailauth';
import type { EmailAuthentication } from '../../src/channels/port.js';

/** Answers like `dns.promises.resolve(name, rrtype)`; a missing name rejects with `code` ENOTFOUND or ENODATA. */
export type DnsResolver = MailauthResolver;

/** What the intake does with a letter that fails DMARC. */
export type DmarcPolicy = 'accept' | 'quarantine' | 'reject';

export interface SenderVerdicts {
  authentication: EmailAuthentication;
  /** DMARC failed and the domain itself asks receivers to act (p=quarantine or p=reject). */
  dmarcFailed: boolean;
}

/** Timers, injectable so that tests decide when a time limit is reached. */
export interface DnsTimers {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: DnsTimers = {
  // Unref'd: a pending DNS limit never keeps the process alive on its own.
  setTimeout: (callback, ms) => setTimeout(callback, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Names that cannot exist in the public DNS (RFC 6761 §6.2–6.5, RFC 6762 for .local, RFC 8375):
 * asking for them only leaks the office's traffic to the upstream resolver.
 */
const SPECIAL_USE_SUFFIXES = ['.test', '.example', '.invalid', '.localhost', '.local', '.home.arpa'];

function dnsError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * The system's resolvers, or the servers configured (`host` or `host:port`), through node:dns.
 * Special-use names are refused without asking.
 */
export function systemDnsResolver({ servers, timeoutMs }: { servers: readonly string[]; timeoutMs: number }): DnsResolver {
  // c-ares waits about twice as long on each retry: a first try of a third of the limit and one
  // retry fit in it, so that one lost UDP packet is not yet a temperror.
  const resolver = new Resolver({ timeout: Math.max(1, Math.ceil(timeoutMs / 3)), tries: 2 });
  if (servers.length > 0) resolver.setServers([...servers]);
  return (name, rrtype) => {
    const lower = name.toLowerCase().replace(/\.$/, '');
    if (SPECIAL_USE_SUFFIXES.some((suffix) => lower.endsWith(suffix) || `.${lower}` === suffix)) {
      return Promise.reject(dnsError('ENOTFOUND', `${name}: special-use name, not looked up`));
    }
    return resolver.resolve(lower, rrtype);
  };
}

/** Answers that mean "no such record": as good as any answer, remembered as long. */
const DEFINITE_ERRORS = new Set(['ENOTFOUND', 'ENODATA']);

/** A promise that rejects with ETIMEOUT (mailauth's temperror) after `ms`, and a way to stop it. */
function deadline({ ms, timers, message }: { ms: number; timers: DnsTimers; message: string }): { expired: Promise<never>; cancel(): void } {
  let handle: unknown;
  const expired = new Promise<never>((_resolve, reject) => {
    handle = timers.setTimeout(() => reject(dnsError('ETIMEOUT', message)), ms);
  });
  // Nobody may be waiting when it fires: that is no unhandled rejection.
  expired.catch(() => undefined);
  return { expired, cancel: () => timers.clearTimeout(handle) };
}

/**
 * Any resolver, with a time limit per question and a bounded cache: answers and "no such record"
 * kept for `ttlMs`, failures (time-outs, refusals) for `failureTtlMs`, so that a domain whose DNS
 * does not answer costs one wait, not one per letter. The oldest entries go first.
 */
export function cachingDnsResolver({
  resolve,
  timeoutMs,
  ttlMs = 300_000,
  failureTtlMs,
  maxEntries = 10_000,
  now = () => Date.now(),
  timers = realTimers,
}: {
  resolve: DnsResolver;
  timeoutMs: number;
  ttlMs?: number;
  failureTtlMs: number;
  maxEntries?: number;
  now?: () => number;
  timers?: DnsTimers;
}): DnsResolver {
  const cache = new Map<string, { until: number; answer: Promise<unknown> }>();

  return (name, rrtype) => {
    const key = `${rrtype} ${name.toLowerCase().replace(/\.$/, '')}`;
    const cached = cache.get(key);
    if (cached && now() < cached.until) return cached.answer;
    const limit = deadline({ ms: timeoutMs, timers, message: `${rrtype} ${name}: no answer within ${timeoutMs} ms` });
    const answer = Promise.race([resolve(name, rrtype), limit.expired]);
    const entry = { until: now() + ttlMs, answer };
    cache.delete(key);
    cache.set(key, entry);
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
    answer.then(limit.cancel, (error: { code?: string }) => {
      limit.cancel();
      if (!DEFINITE_ERRORS.has(error.code ?? '')) entry.until = now() + failureTtlMs;
    });
    return answer;
  };
}

/** Each DKIM signature's result and domain; the best of them (one pass is enough), or 'none' without any. */
function dkimVerdicts(results: NonNullable<AuthenticationResult['dkim']['results']>) {
  // An unsigned message gets one row saying so ('none'): that is no signature.
  const signatures = results.filter((row) => row.status.result !== 'none').map((row) => ({ domain: row.signingDomain?.toLowerCase() ?? null, result: row.status.result }));
  const best = signatures.find((signature) => signature.result === 'pass')?.result ?? signatures[0]?.result ?? 'none';
  return { best, signatures };
}

/** The Authentication-Results header mailauth composed, as one line without its name and host. */
function summaryOf(headers: string): string | undefined {
  const header = /^Authentication-Results:[^;]*;((?:.*\r?\n?[ \t].*)*|.*)$/im.exec(headers);
  return header?.[1]?.replace(/\s+/g, ' ').trim() || undefined;
}

/**
 * The From address's domain is proved when DMARC passes (RFC 7489 §4.2), or, where DMARC did not
 * fail (no record, or no answer), when a DKIM signature aligned with it (mailauth's relaxed
 * alignment) or an SPF pass for that very domain holds. Never with several From addresses.
 */
function fromDomainProved({ result, fromDomain }: { result: AuthenticationResult; fromDomain: string | null }): boolean {
  if (fromDomain === null) return false;
  if (result.dmarc && result.dmarc.status.result === 'pass') return true;
  // A fail is the domain's own word (strict alignment, say); a DMARC lookup that did not answer is not.
  if (result.dmarc && result.dmarc.status.result === 'fail') return false;
  const alignedDkim = (result.dkim.results ?? []).some((row) => row.status.result === 'pass' && Boolean(row.status.aligned));
  const spfOfFromDomain = result.spf !== false && result.spf.status.result === 'pass' && result.spf.domain?.toLowerCase() === fromDomain;
  return alignedDkim || spfOfFromDomain;
}

export function createSenderAuthenticator({
  resolver,
  hostname,
  budgetMs,
  timers = realTimers,
}: {
  resolver: DnsResolver;
  hostname: string;
  /** All DNS questions of one letter together: past it, the questions left are temperror at once. */
  budgetMs: number;
  timers?: DnsTimers;
}) {
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
    const budget = deadline({ ms: budgetMs, timers, message: `the letter's DNS budget of ${budgetMs} ms is spent` });
    // An answer already at hand (cached) still wins over a spent budget: Promise.race takes the first settled.
    const withinBudget: DnsResolver = (name, rrtype) => Promise.race([resolver(name, rrtype), budget.expired]);
    let result: AuthenticationResult;
    try {
      result = await authenticate(raw, {
        ip: clientAddress,
        helo,
        sender: mailFrom,
        mta: hostname,
        resolver: withinBudget,
        // The client address is what we saw on the socket; Received headers are the sender's to write.
        trustReceived: false,
        disableArc: true,
        disableBimi: true,
      });
    } finally {
      budget.cancel();
    }
    const headerFrom = result.dkim.headerFrom ?? [];
    const fromDomain = headerFrom.length === 1 ? (headerFrom[0]!.split('@').pop()?.toLowerCase() ?? null) : null;
    const dmarc = result.dmarc || undefined;
    const policy = dmarc?.policy?.toLowerCase() ?? null;
    const dkim = dkimVerdicts(result.dkim.results ?? []);
    return {
      authentication: {
        verdict: fromDomainProved({ result, fromDomain }) ? 'verified' : 'unverified',
        domain: fromDomain,
        spf: result.spf ? result.spf.status.result : 'none',
        spfDomain: result.spf ? (result.spf.domain?.toLowerCase() ?? null) : null,
        dkim: dkim.best,
        dkimSignatures: dkim.signatures,
        dmarc: dmarc?.status.result ?? 'none',
        dmarcPolicy: policy,
        summary: summaryOf(result.headers),
      },
      // A temperror is no failure: a policy never refuses a letter because the DNS did not answer.
      dmarcFailed: dmarc?.status.result === 'fail' && (policy === 'quarantine' || policy === 'reject'),
    };
  };
}

export type SenderAuthenticator = ReturnType<typeof createSenderAuthenticator>;
