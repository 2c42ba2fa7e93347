/** Registration numbers: their form, and the office's calendar year. */
import { describe, expect, it } from 'vitest';
import { formatNumber, yearIn } from '../../src/letters/letters.models.js';

describe('registration numbers', () => {
  it('default form is YEAR-A-000123 for incoming and YEAR-D-000045 for outgoing letters', () => {
    expect(formatNumber({ format: '{year}-{direction}-{seq:6}', year: 2026, direction: 'A', sequence: 123 })).toBe('2026-A-000123');
    expect(formatNumber({ format: '{year}-{direction}-{seq:6}', year: 2026, direction: 'D', sequence: 45 })).toBe('2026-D-000045');
  });

  it('the form is configurable', () => {
    expect(formatNumber({ format: 'BO/{year}/{seq}', year: 2027, direction: 'A', sequence: 7 })).toBe('BO/2027/7');
  });

  // Casablanca was UTC+1 on that night in every time-zone release (2026c moved Morocco to UTC+0 from 20 September 2026 on).
  it('a letter at 00:30 on 1 January in Casablanca belongs to the new year, although it is still 31 December in UTC', () => {
    const date = new Date('2025-12-31T23:30:00Z');
    expect(yearIn({ date, timezone: 'Africa/Casablanca' })).toBe(2026);
    expect(yearIn({ date, timezone: 'UTC' })).toBe(2025);
  });
});
