/** When an answer is due: the shipped rules per procedure, counted on Morocco's working-day calendar from given instants. */
import { describe, expect, it } from 'vitest';
import { parseData } from '../../src/deadlines/data-file.js';
import { deadlineRulesSchema, dueDay, extendedDueDay, loadDeadlineRules } from '../../src/deadlines/deadline-rules.js';
import { loadHolidayData, shippedHolidaysFile } from '../../src/deadlines/holidays-data.js';
import { createCalendar, type LunarConfirmation } from '../../src/deadlines/working-calendar.js';
import { configProblems } from '../helpers/config-problems.js';

const rules = loadDeadlineRules();
const rule = (id: string) => rules.find((candidate) => candidate.id === id)!;
const morocco = loadHolidayData(shippedHolidaysFile('ma'));
const calendarWith = (confirmations: LunarConfirmation[] = []) => createCalendar({ holidays: morocco, confirmations, timezone: 'Africa/Casablanca' });
const calendar = calendarWith();

describe('deadline rules', () => {
  it('ship a request for information (20 working days, extendable once by 20), the 60-day ceiling and 30 days for investment', () => {
    expect(rules.map(({ id, period, extension }) => ({ id, period, extension }))).toEqual([
      { id: 'information-request', period: { count: 20, unit: 'working-days', onNonWorkingDay: 'next-working-day' }, extension: { count: 20, unit: 'working-days', onNonWorkingDay: 'next-working-day', times: 1 } },
      { id: 'administrative-decision', period: { count: 60, unit: 'calendar-days', onNonWorkingDay: 'next-working-day' }, extension: undefined },
      { id: 'investment-decision', period: { count: 30, unit: 'calendar-days', onNonWorkingDay: 'next-working-day' }, extension: undefined },
    ]);
  });

  it('count 20 working days from a letter registered on a Friday evening over weekends and New Year: due Monday 4 January 2027', () => {
    expect(dueDay({ rule: rule('information-request'), registeredAt: new Date('2026-12-04T18:30:00Z'), calendar })).toBe('2027-01-04');
  });

  it('extend once by 20 working days from the due day, over the Manifesto and Yennayer, and refuse a second extension', () => {
    const extended = extendedDueDay({ rule: rule('information-request'), dueOn: '2027-01-04', extensionsSoFar: 0, calendar });
    expect(extended).toBe('2027-02-03');
    expect(() => extendedDueDay({ rule: rule('information-request'), dueOn: extended, extensionsSoFar: 1, calendar })).toThrow(expect.objectContaining({ code: 'deadline.extensions_used' }));
    expect(() => extendedDueDay({ rule: rule('administrative-decision'), dueOn: '2027-01-04', extensionsSoFar: 0, calendar })).toThrow(expect.objectContaining({ code: 'deadline.not_extendable' }));
  });

  it('move a due day computed across a lunar holiday when its date is confirmed a day later', () => {
    const registeredAt = new Date('2027-08-10T08:00:00Z');
    expect(dueDay({ rule: rule('information-request'), registeredAt, calendar })).toBe('2027-09-09');
    expect(dueDay({ rule: rule('information-request'), registeredAt, calendar: calendarWith([{ holiday: 'mawlid', firstDay: '2027-08-16' }]) })).toBe('2027-09-10');
  });

  it('end a ceiling in calendar days on the day it falls, or on the next working day when that is a day off', () => {
    const ceiling = rule('administrative-decision');
    expect(dueDay({ rule: ceiling, registeredAt: new Date('2026-04-06T10:00:00Z'), calendar })).toBe('2026-06-05');
    // 60 days after 7 April 2026 is Saturday 6 June: due on Monday.
    expect(dueDay({ rule: ceiling, registeredAt: new Date('2026-04-07T10:00:00Z'), calendar })).toBe('2026-06-08');
    expect(dueDay({ rule: { ...ceiling, period: { ...ceiling.period, onNonWorkingDay: 'same-day' } }, registeredAt: new Date('2026-04-07T10:00:00Z'), calendar })).toBe('2026-06-06');
    // 30 days after 19 October 2026 is Independence Day.
    expect(dueDay({ rule: rule('investment-decision'), registeredAt: new Date('2026-10-19T10:00:00Z'), calendar })).toBe('2026-11-19');
  });

  // Casablanca is UTC+1 in July 2026 in every time-zone release (2026c moved Morocco to UTC+0 from 20 September 2026 on).
  it('count from the day in the office time zone: 23:30 UTC on Thursday 9 July 2026 is Friday in Casablanca', () => {
    const information = rule('information-request');
    expect(dueDay({ rule: information, registeredAt: new Date('2026-07-09T23:30:00Z'), calendar })).toBe('2026-08-10');
    expect(dueDay({ rule: information, registeredAt: new Date('2026-07-09T22:30:00Z'), calendar })).toBe('2026-08-07');
    const officeOnUtc = createCalendar({ holidays: morocco, timezone: 'UTC' });
    expect(dueDay({ rule: information, registeredAt: new Date('2026-07-09T23:30:00Z'), calendar: officeOnUtc })).toBe('2026-08-07');
  });

  it('refuse a rules file with a clear problem naming the key', () => {
    const problems = configProblems(() =>
      parseData({ raw: { rules: [{ id: 'x', names: { ar: 'ع', fr: 'F', en: 'E' }, period: { count: 20, unit: 'workdays' } }] }, schema: deadlineRulesSchema, source: 'deadlines.yaml' }),
    );
    expect(problems).toEqual(['deadlines.yaml: rules[0].period.unit: Invalid option: expected one of "working-days"|"calendar-days"']);
  });
});
