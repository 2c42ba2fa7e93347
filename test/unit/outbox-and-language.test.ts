/** Pure rules: how long a failed delivery waits, and which language a reader gets. */
import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/outbox/outbox.worker.js';
import { negotiateLanguage } from '../../src/web/server.js';

describe('the delay before a delivery is tried again', () => {
  it('doubles with each attempt from the base, up to the maximum', () => {
    const middle = () => 0.5; // no jitter
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs({ attempt, baseMs: 30_000, maxMs: 3_600_000, random: middle }))).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(retryDelayMs({ attempt: 20, baseMs: 30_000, maxMs: 3_600_000, random: middle })).toBe(3_600_000);
  });

  it('is spread by ±20% so a department server coming back is not hit by every delivery at once', () => {
    expect(retryDelayMs({ attempt: 1, baseMs: 1000, maxMs: 10_000, random: () => 0 })).toBe(800);
    expect(retryDelayMs({ attempt: 1, baseMs: 1000, maxMs: 10_000, random: () => 0.999999 })).toBe(1200);
  });
});

describe('the language of a page', () => {
  it('is ?lang= first, then the best Accept-Language the office speaks, then the configured one', () => {
    expect(negotiateLanguage({ query: 'ar', acceptLanguage: 'en', fallback: 'fr' })).toBe('ar');
    expect(negotiateLanguage({ query: 'de', acceptLanguage: 'de-DE, en-GB;q=0.9, ar;q=0.5', fallback: 'fr' })).toBe('en');
    expect(negotiateLanguage({ query: null, acceptLanguage: 'ar-MA;q=0.4, fr;q=0.8', fallback: 'en' })).toBe('fr');
    expect(negotiateLanguage({ query: null, acceptLanguage: 'de, es', fallback: 'fr' })).toBe('fr');
    expect(negotiateLanguage({ query: null, acceptLanguage: 'en;q=0', fallback: 'ar' })).toBe('ar');
  });
});
