/**
 * The office's working days in Morocco: weekends, fixed and lunar holidays (provisional until
 * confirmed), bridge days, and the day a count starts from in the office's time zone. Every date
 * is given: nothing depends on today.
 */
import { describe, expect, it } from 'vitest';
import { parseData } from '../../src/deadlines/data-file.js';
import { holidayDataSchema, loadHolidayData, shippedHolidaysFile } from '../../src/deadlines/holidays-data.js';
import { createCalendar, type BridgeDay, type LunarConfirmation } from '../../src/deadlines/working-calendar.js';
import { configProblems } from '../helpers/config-problems.js';

const morocco = loadHolidayData(shippedHolidaysFile('ma'));

function moroccanCalendar({ confirmations = [], bridgeDays = [], timezone = 'Africa/Casablanca' }: { confirmations?: LunarConfirmation[]; bridgeDays?: BridgeDay[]; timezone?: string } = {}) {
  return createCalendar({ holidays: morocco, confirmations, bridgeDays, timezone });
}

function lunarHolidaysIn(year: number, calendar = moroccanCalendar()) {
  return calendar
    .holidaysIn(year)
    .flatMap((holiday) => (holiday.kind === 'lunar' ? [{ id: holiday.id, days: holiday.days, provisional: holiday.provisional }] : []));
}

function problemsOf(raw: unknown): string[] {
  return configProblems(() => parseData({ raw, schema: holidayDataSchema, source: 'xx.yaml' }));
}

describe('the working-day calendar of a Moroccan office', () => {
  it('does not work on Saturday and Sunday', () => {
    const calendar = moroccanCalendar();
    expect(['2026-12-04', '2026-12-05', '2026-12-06', '2026-12-07'].map((day) => calendar.isWorkingDay(day))).toEqual([true, false, false, true]);
  });

  it.each([
    ['new-year', '2027-01-01'],
    ['independence-manifesto', '2027-01-11'],
    ['yennayer', '2027-01-14'],
    ['labour-day', '2027-05-01'],
    ['throne-day', '2027-07-30'],
    ['oued-ed-dahab', '2027-08-14'],
    ['revolution-of-the-king-and-the-people', '2027-08-20'],
    ['youth-day', '2027-08-21'],
    ['green-march', '2027-11-06'],
    ['independence-day', '2027-11-18'],
  ])('keeps %s (%s) as a fixed holiday, never provisional', (id, day) => {
    const calendar = moroccanCalendar();
    expect(calendar.isWorkingDay(day)).toBe(false);
    expect(calendar.holidaysIn(2027).find((holiday) => holiday.kind === 'fixed' && holiday.id === id)).toMatchObject({ days: [day], provisional: false });
  });

  it('computes the lunar holidays of 2026 and 2027, two days for each Eid and for the Mawlid, all provisional', () => {
    expect(lunarHolidaysIn(2026)).toEqual([
      { id: 'eid-al-fitr', days: ['2026-03-20', '2026-03-21'], provisional: true },
      { id: 'eid-al-adha', days: ['2026-05-27', '2026-05-28'], provisional: true },
      { id: 'islamic-new-year', days: ['2026-06-17'], provisional: true },
      { id: 'mawlid', days: ['2026-08-26', '2026-08-27'], provisional: true },
    ]);
    expect(lunarHolidaysIn(2027)).toEqual([
      { id: 'eid-al-fitr', days: ['2027-03-10', '2027-03-11'], provisional: true },
      { id: 'eid-al-adha', days: ['2027-05-17', '2027-05-18'], provisional: true },
      { id: 'islamic-new-year', days: ['2027-06-06'], provisional: true },
      { id: 'mawlid', days: ['2027-08-15', '2027-08-16'], provisional: true },
    ]);
  });

  it('moves the whole span of a lunar holiday confirmed one day later, and marks it confirmed', () => {
    const calendar = moroccanCalendar({ confirmations: [{ holiday: 'mawlid', firstDay: '2027-08-16' }] });
    expect(calendar.holidaysIn(2027).find((holiday) => holiday.kind === 'lunar' && holiday.id === 'mawlid')).toMatchObject({
      days: ['2027-08-16', '2027-08-17'],
      provisional: false,
      computedFirstDay: '2027-08-15',
      hijriYear: 1449,
    });
    // Tuesday 17 August is now off; the other lunar holidays stay as computed.
    expect(calendar.isWorkingDay('2027-08-17')).toBe(false);
    expect(moroccanCalendar().isWorkingDay('2027-08-17')).toBe(true);
    expect(lunarHolidaysIn(2027, calendar).filter((holiday) => holiday.provisional).map((holiday) => holiday.id)).toEqual(['eid-al-fitr', 'eid-al-adha', 'islamic-new-year']);
  });

  it('counts working days across the moved span: the 20th working day after Tuesday 10 August 2027 is a day later once the Mawlid is confirmed on Monday', () => {
    const registered = new Date('2027-08-10T09:00:00Z');
    expect(moroccanCalendar().addWorkingDays(registered, 20)).toBe('2027-09-09');
    expect(moroccanCalendar({ confirmations: [{ holiday: 'mawlid', firstDay: '2027-08-16' }] }).addWorkingDays(registered, 20)).toBe('2027-09-10');
  });

  it('takes a confirmation of the computed day itself as confirming it where it is', () => {
    const calendar = moroccanCalendar({ confirmations: [{ holiday: 'eid-al-fitr', firstDay: '2026-03-20' }] });
    expect(lunarHolidaysIn(2026, calendar)[0]).toEqual({ id: 'eid-al-fitr', days: ['2026-03-20', '2026-03-21'], provisional: false });
  });

  it('lets a later confirmation correct an earlier one of the same holiday', () => {
    const calendar = moroccanCalendar({
      confirmations: [
        { holiday: 'eid-al-adha', firstDay: '2027-05-18' },
        { holiday: 'eid-al-adha', firstDay: '2027-05-17' },
      ],
    });
    expect(lunarHolidaysIn(2027, calendar)[1]).toEqual({ id: 'eid-al-adha', days: ['2027-05-17', '2027-05-18'], provisional: false });
  });

  it('refuses a confirmation of an unknown holiday, of a fixed one, or far from the computed date, naming what is wrong', () => {
    expect(() => moroccanCalendar({ confirmations: [{ holiday: 'eid-al-kabir', firstDay: '2027-05-17' }] })).toThrow(
      expect.objectContaining({ code: 'calendar.holiday_unknown', message: expect.stringContaining('eid-al-adha') }),
    );
    expect(() => moroccanCalendar({ confirmations: [{ holiday: 'throne-day', firstDay: '2027-07-30' }] })).toThrow(expect.objectContaining({ code: 'calendar.holiday_fixed' }));
    expect(() => moroccanCalendar({ confirmations: [{ holiday: 'eid-al-fitr', firstDay: '2027-03-20' }] })).toThrow(
      expect.objectContaining({ code: 'calendar.confirmation_far', message: expect.stringContaining('2027-03-10') }),
    );
    expect(() => moroccanCalendar({ confirmations: [{ holiday: 'eid-al-fitr', firstDay: '2027-13-10' }] })).toThrow(expect.objectContaining({ code: 'calendar.day_invalid' }));
  });

  it('takes bridge days off, and lists them with their reason', () => {
    const bridge = { day: '2027-11-19', reason: 'Pont de la Fête de l’indépendance' };
    const calendar = moroccanCalendar({ bridgeDays: [bridge] });
    expect(calendar.isWorkingDay('2027-11-19')).toBe(false);
    // Wednesday 17 November: Thursday the 18th is Independence Day, Friday the bridge, then the weekend.
    expect(calendar.addWorkingDays('2027-11-17', 1)).toBe('2027-11-22');
    expect(moroccanCalendar().addWorkingDays('2027-11-17', 1)).toBe('2027-11-19');
    expect(calendar.holidaysIn(2027).filter((holiday) => holiday.kind === 'bridge')).toEqual([{ kind: 'bridge', reason: bridge.reason, days: ['2027-11-19'], provisional: false }]);
    expect(() => moroccanCalendar({ bridgeDays: [{ day: '2027-02-30', reason: 'x' }] })).toThrow(expect.objectContaining({ code: 'calendar.day_invalid' }));
  });

  it('counts across the new year: the working day after Thursday 31 December 2026 is Monday 4 January 2027', () => {
    const calendar = moroccanCalendar();
    expect(calendar.addWorkingDays('2026-12-31', 1)).toBe('2027-01-04');
    expect(calendar.addWorkingDays('2027-01-04', -1)).toBe('2026-12-31');
    expect(calendar.addCalendarDays('2026-12-20', 30)).toBe('2027-01-19');
  });

  it('finds a lunar holiday whose span crosses the new year in both years, moved there by a confirmation', () => {
    // 12 Rabi' al-Awwal 1470 is computed on 30 December 2047; announced a day later, its second day is in 2048.
    const calendar = moroccanCalendar({ confirmations: [{ holiday: 'mawlid', firstDay: '2047-12-31' }] });
    const mawlid = (year: number) => lunarHolidaysIn(year, calendar).filter((holiday) => holiday.id === 'mawlid');
    expect(mawlid(2047).at(-1)).toEqual({ id: 'mawlid', days: ['2047-12-31', '2048-01-01'], provisional: false });
    expect(mawlid(2048)[0]).toEqual({ id: 'mawlid', days: ['2047-12-31', '2048-01-01'], provisional: false });
    expect(calendar.isWorkingDay('2047-12-30')).toBe(true);
  });

  // Casablanca is UTC+1 on these nights in every time-zone release (2026c moved Morocco to UTC+0 from 20 September 2026 on).
  it('starts counting from the day in the office time zone: 23:30 UTC on Thursday is already Friday in Casablanca', () => {
    const registered = new Date('2026-01-08T23:30:00Z');
    expect(moroccanCalendar().dayOf(registered)).toBe('2026-01-09');
    // Friday is day 0 in Casablanca: day 1 is Monday 12 January (Sunday the 11th is the Manifesto).
    expect(moroccanCalendar().addWorkingDays(registered, 1)).toBe('2026-01-12');
    // The same instant in an office on UTC is still Thursday: its day 1 is Friday.
    expect(moroccanCalendar({ timezone: 'UTC' }).addWorkingDays(registered, 1)).toBe('2026-01-09');
    expect(moroccanCalendar().isWorkingDay(new Date('2025-12-31T23:30:00Z'))).toBe(false);
  });

  it('never counts the registration day, and counts back with a negative number', () => {
    const calendar = moroccanCalendar();
    expect(calendar.addWorkingDays('2026-12-07', 0)).toBe('2026-12-07');
    expect(calendar.addWorkingDays(new Date('2026-12-07T07:00:00Z'), 1)).toBe('2026-12-08');
    expect(calendar.addWorkingDays('2026-12-07', -1)).toBe('2026-12-04');
    expect(() => calendar.addWorkingDays('2026-12-07', 1.5)).toThrow(expect.objectContaining({ code: 'calendar.count_invalid' }));
  });
});

describe('a holiday file', () => {
  const names = { ar: 'ع', fr: 'F', en: 'E' };

  it('ships Morocco with its ten fixed and four lunar holidays', () => {
    expect(morocco.weekend).toEqual(['saturday', 'sunday']);
    expect(morocco.holidays.filter((holiday) => holiday.gregorian)).toHaveLength(10);
    expect(morocco.holidays.filter((holiday) => holiday.hijri).map((holiday) => holiday.id)).toEqual(['eid-al-fitr', 'eid-al-adha', 'islamic-new-year', 'mawlid']);
  });

  it('of a country wasl does not ship is named as missing', () => {
    expect(configProblems(() => loadHolidayData(shippedHolidaysFile('zz')))).toEqual([expect.stringMatching(/^\(file\) .*\/config\/holidays\/zz\.yaml: no such file$/)]);
  });

  it('is refused with each problem naming the file and its key', () => {
    expect(
      problemsOf({
        weekend: ['saturday', 'caturday'],
        islamicCalendar: 'islamic-civil',
        holidays: [
          { id: 'leap', names, gregorian: '02-29' },
          { id: 'moon', names, hijri: '13-01' },
          { id: 'moon', names, hijri: '01-01', colour: 'green' },
        ],
      }),
    ).toEqual([
      'xx.yaml: weekend[1]: Invalid option: expected one of "sunday"|"monday"|"tuesday"|"wednesday"|"thursday"|"friday"|"saturday"',
      'xx.yaml: holidays[0].gregorian: must be a month and day every year has, written MM-DD (e.g. 01-11)',
      'xx.yaml: holidays[1].hijri: must be a Hijri month (01-12) and day (01-30), written MM-DD (e.g. 10-01 for 1 Shawwal)',
      'xx.yaml: holidays[2].colour: unknown key',
    ]);
    expect(problemsOf({ weekend: [], islamicCalendar: 'islamic-civil', holidays: [{ id: 'both', names, gregorian: '01-01', hijri: '01-01' }, { id: 'both', names, gregorian: '01-02' }] })).toEqual([
      'xx.yaml: holidays[0].gregorian: give exactly one of gregorian (fixed) or hijri (lunar)',
      'xx.yaml: holidays[1].id: duplicate holiday id both',
    ]);
    expect(problemsOf({ weekend: [], islamicCalendar: 'gregory', holidays: [] })).toEqual([expect.stringMatching(/^xx\.yaml: islamicCalendar: /)]);
  });
});
