/**
 * The DNS questions of SPF, DKIM and DMARC against a resolver that never answers: the time limits
 * are the injected timers' (fired by the test, never waited for), the cache's age the injected
 * clock's.
 */
import { describe, expect, it } from 'vitest';
import { cachingDnsResolver, createSenderAuthenticator, type DnsResolver, type DnsTimers } from '../../adapters/email/authentication.js';

/** Timers the test fires by hand. */
function manualTimers() {
  const pending = new Map<number, { callback: () => void; ms: number }>();
  let next = 0;
  const timers: DnsTimers = {
    setTimeout(callback, ms) {
      pending.set(++next, { callback, ms });
      return next;
    },
    clearTimeout(handle) {
      pending.delete(handle as number);
    },
  };
  return {
    timers,
    /** Delays of the timers set and not yet fired nor cleared. */
    pendingDelays: () => [...pending.values()].map((timer) => timer.ms),
    /** Fires the timers set with this delay. */
    fire(ms: number) {
      for (const [handle, timer] of pending) {
        if (timer.ms !== ms) continue;
        pending.delete(handle);
        timer.callback();
      }
    },
  };
}

/** A resolver that never answers, and the questions it was asked. */
function silentResolver(): { resolve: DnsResolver; questions: string[]; asked: () => Promise<void> } {
  const questions: string[] = [];
  let wake: (() => void) | undefined;
  return {
    questions,
    resolve: (name, rrtype) => {
      questions.push(`${rrtype} ${name}`);
      wake?.();
      return new Promise<never>(() => undefined);
    },
    asked: () => new Promise<void>((resolve) => (wake = resolve)),
  };
}

describe('the cached DNS resolver, when the DNS does not answer', () => {
  it('gives up on a question at its time limit with ETIMEOUT, and gives that failure again without asking until the failure is old', async () => {
    const silent = silentResolver();
    const clock = manualTimers();
    let now = 1_000_000;
    const resolve = cachingDnsResolver({ resolve: silent.resolve, timeoutMs: 1500, failureTtlMs: 120_000, now: () => now, timers: clock.timers });

    const first = resolve('citoyen.ma', 'TXT');
    clock.fire(1500);
    await expect(first).rejects.toMatchObject({ code: 'ETIMEOUT' });

    now += 119_000;
    await expect(resolve('CITOYEN.ma.', 'TXT')).rejects.toMatchObject({ code: 'ETIMEOUT' });
    expect(silent.questions).toEqual(['TXT citoyen.ma']);

    now += 2_000;
    void resolve('citoyen.ma', 'TXT').catch(() => undefined);
    expect(silent.questions).toEqual(['TXT citoyen.ma', 'TXT citoyen.ma']);
  });

  it('keeps at most maxEntries questions, dropping the oldest', async () => {
    const silent = silentResolver();
    const clock = manualTimers();
    const resolve = cachingDnsResolver({ resolve: silent.resolve, timeoutMs: 10, failureTtlMs: 60_000, maxEntries: 2, now: () => 0, timers: clock.timers });
    const asked = ['a.ma', 'b.ma', 'c.ma'].map((name) => resolve(name, 'TXT'));
    clock.fire(10);
    await Promise.allSettled(asked);

    void resolve('c.ma', 'TXT').catch(() => undefined);
    void resolve('a.ma', 'TXT').catch(() => undefined);
    expect(silent.questions).toEqual(['TXT a.ma', 'TXT b.ma', 'TXT c.ma', 'TXT a.ma']);
  });
});

describe('the sender checks of one letter, when the DNS does not answer', () => {
  const letter = Buffer.from('From: fatima@citoyen.ma\r\nTo: rh@wasl.local\r\nSubject: Demande\r\n\r\nBonjour\r\n');

  it('stop at the letter’s budget and record temperror, which no DMARC policy acts on', async () => {
    const silent = silentResolver();
    const clock = manualTimers();
    const verifySender = createSenderAuthenticator({ resolver: silent.resolve, hostname: 'wasl.local', budgetMs: 4000, timers: clock.timers });

    const asked = silent.asked();
    const verdicts = verifySender({ raw: letter, clientAddress: '192.0.2.7', helo: 'mail.citoyen.ma', mailFrom: 'fatima@citoyen.ma' });
    await asked;
    expect(clock.pendingDelays()).toEqual([4000]);
    clock.fire(4000);

    expect(await verdicts).toMatchObject({
      authentication: { verdict: 'unverified', spf: 'temperror', dmarc: 'temperror', dkim: 'none', domain: 'citoyen.ma' },
      dmarcFailed: false,
    });
    // Once the budget is spent, the questions left fail at once: DMARC was asked, and answered temperror without a wait.
    expect(silent.questions).toEqual(['TXT citoyen.ma', 'TXT _dmarc.citoyen.ma']);
    expect(clock.pendingDelays()).toEqual([]);
  });
});
