/**
 * The office's working days: the weekend and the public holidays of its country (data, see
 * holidays-data.ts), lunar holidays computed until confirmed, and bridge days the government
 * adds. Pure: confirmations and bridge days come in as plain data, from wherever they are kept.
 *
 * Counting rule (the law counts whole days, "dies a quo non computatur"): a letter's day 0 is the
 * day it is registered on in the office's time zone, whatever the hour and whether or not that day
 * is worked; day 1 is the first working day after it. A letter registered on Friday at 18:00 in
 * Casablanca has its day 1 on Monday (or on the first working day after, if Monday is a holiday).
 */
import { WaslError } from '../errors.js';
import { addDays, dayIn, requireCalendarDay, weekdayOf, yearOf, type CalendarDay } from './calendar-day.js';
import type { HolidayData, HolidayDefinition, TranslatedNames } from './holidays-data.js';

/** The first day of a lunar holiday as announced: the whole span starts there, and it is no longer provisional. */
export interface LunarConfirmation {
  holiday: string;
  firstDay: CalendarDay;
}

/** A day off the government adds (e.g. a Monday between a holiday and the weekend). */
export interface BridgeDay {
  day: CalendarDay;
  reason: string;
}

export type Holiday =
  | { kind: 'fixed'; id: string; names: TranslatedNames; days: CalendarDay[]; provisional: false }
  | {
      kind: 'lunar';
      id: string;
      names: TranslatedNames;
      days: CalendarDay[];
      /** True until a confirmation gives the announced date. */
      provisional: boolean;
      /** The first day as the Islamic calendar computes it, whether or not a confirmation moved it. */
      computedFirstDay: CalendarDay;
      hijriYear: number;
    }
  | { kind: 'bridge'; reason: string; days: [CalendarDay]; provisional: false };

export interface WorkingCalendar {
  /** The day an instant falls on in the office's time zone. */
  dayOf(instant: Date): CalendarDay;
  isWorkingDay(day: CalendarDay | Date): boolean;
  /**
   * The n-th working day after `start`'s day (day 0, never counted, see above); n < 0 counts back
   * from it (-1: the last working day before), n = 0 is `start`'s day itself.
   */
  addWorkingDays(start: CalendarDay | Date, count: number): CalendarDay;
  /** `start`'s day plus n days, worked or not (ceilings stated in days, as law 55-19's 60 days). */
  addCalendarDays(start: CalendarDay | Date, count: number): CalendarDay;
  /** Every holiday with a day in the year, bridge days included, in date order. */
  holidaysIn(year: number): Holiday[];
}

/**
 * How far from the computed date an announced one may be. Sighting moves a month's start by a
 * day, rarely two; further is a typing mistake (a wrong month or year), refused.
 */
export const MAX_CONFIRMATION_SHIFT_DAYS = 3;

/** Lunar holidays starting this many days either side of a year are computed with it, so a span or a confirmation crossing 1 January is found. */
const YEAR_MARGIN_DAYS = 15;

export function createCalendar({
  holidays: data,
  confirmations = [],
  bridgeDays = [],
  timezone,
}: {
  holidays: HolidayData;
  confirmations?: readonly LunarConfirmation[];
  bridgeDays?: readonly BridgeDay[];
  timezone: string;
}): WorkingCalendar {
  const weekend = new Set(data.weekend);
  const hijriFormat = new Intl.DateTimeFormat(`en-u-ca-${data.islamicCalendar}`, { timeZone: 'UTC', year: 'numeric', month: 'numeric', day: 'numeric' });
  const byId = new Map(data.holidays.map((holiday) => [holiday.id, holiday]));

  function hijriDateOf(day: CalendarDay): { year: number; month: number; day: number } {
    const parts = Object.fromEntries(hijriFormat.formatToParts(new Date(`${day}T12:00:00Z`)).map((part) => [part.type, part.value]));
    return { year: Number(parts.year), month: Number(parts.month), day: Number(parts.day) };
  }

  /** Each lunar holiday's computed first days that fall in the year or its margins. */
  function computedLunarStarts(year: number): { holiday: HolidayDefinition; firstDay: CalendarDay; hijriYear: number }[] {
    const lunar = data.holidays.filter((holiday) => holiday.hijri);
    const starts = [];
    const last = addDays(`${year}-12-31`, YEAR_MARGIN_DAYS);
    for (let day = addDays(`${year}-01-01`, -YEAR_MARGIN_DAYS); day <= last; day = addDays(day, 1)) {
      const hijri = hijriDateOf(day);
      for (const holiday of lunar) {
        if (holiday.hijri!.month === hijri.month && holiday.hijri!.day === hijri.day) starts.push({ holiday, firstDay: day, hijriYear: hijri.year });
      }
    }
    return starts;
  }

  function distanceInDays(a: CalendarDay, b: CalendarDay): number {
    return Math.abs(Date.parse(a) - Date.parse(b)) / 86_400_000;
  }

  function confirmationOf(holidayId: string, computedFirstDay: CalendarDay): LunarConfirmation | undefined {
    // The latest confirmation of a date corrects any earlier one.
    return confirmations.findLast((confirmation) => confirmation.holiday === holidayId && distanceInDays(confirmation.firstDay, computedFirstDay) <= MAX_CONFIRMATION_SHIFT_DAYS);
  }

  function span(firstDay: CalendarDay, length: number): CalendarDay[] {
    return Array.from({ length }, (_, offset) => addDays(firstDay, offset));
  }

  function fixedSpan(holiday: HolidayDefinition, year: number): CalendarDay[] {
    const { month, day } = holiday.gregorian!;
    return span(`${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`, holiday.days);
  }

  const holidaysByYear = new Map<number, Holiday[]>();
  function holidaysIn(year: number): Holiday[] {
    const cached = holidaysByYear.get(year);
    if (cached) return cached;
    const found: Holiday[] = [];
    for (const holiday of data.holidays) {
      if (!holiday.gregorian) continue;
      // A fixed holiday of several days may run from the year before into this one.
      for (const days of [fixedSpan(holiday, year - 1), fixedSpan(holiday, year)]) {
        if (days.some((day) => yearOf(day) === year)) found.push({ kind: 'fixed', id: holiday.id, names: holiday.names, days, provisional: false });
      }
    }
    for (const { holiday, firstDay: computedFirstDay, hijriYear } of computedLunarStarts(year)) {
      const confirmed = confirmationOf(holiday.id, computedFirstDay);
      const days = span(confirmed?.firstDay ?? computedFirstDay, holiday.days);
      if (!days.some((day) => yearOf(day) === year)) continue;
      found.push({ kind: 'lunar', id: holiday.id, names: holiday.names, days, provisional: !confirmed, computedFirstDay, hijriYear });
    }
    for (const bridge of bridgeDays) {
      if (yearOf(bridge.day) === year) found.push({ kind: 'bridge', reason: bridge.reason, days: [bridge.day], provisional: false });
    }
    // ISO days sort as text.
    found.sort((a, b) => a.days[0]!.localeCompare(b.days[0]!));
    holidaysByYear.set(year, found);
    return found;
  }

  const daysOffByYear = new Map<number, Set<CalendarDay>>();
  function isHoliday(day: CalendarDay): boolean {
    const year = yearOf(day);
    let daysOff = daysOffByYear.get(year);
    if (!daysOff) daysOffByYear.set(year, (daysOff = new Set(holidaysIn(year).flatMap((holiday) => holiday.days))));
    return daysOff.has(day);
  }

  const dayOf = (instant: Date): CalendarDay => dayIn({ instant, timezone });
  const asDay = (start: CalendarDay | Date): CalendarDay => (start instanceof Date ? dayOf(start) : requireCalendarDay(start));
  const isWorkingDay = (day: CalendarDay | Date): boolean => {
    const calendarDay = asDay(day);
    return !weekend.has(weekdayOf(calendarDay)) && !isHoliday(calendarDay);
  };

  function addWorkingDays(start: CalendarDay | Date, count: number): CalendarDay {
    if (!Number.isInteger(count)) throw new WaslError('calendar.count_invalid', `${count} is not a whole number of days`);
    const step = Math.sign(count);
    let day = asDay(start);
    for (let left = Math.abs(count); left > 0; ) {
      day = addDays(day, step);
      if (isWorkingDay(day)) left -= 1;
    }
    return day;
  }

  /** A confirmation names a lunar holiday computed near its date: anything else is refused at once, not ignored. */
  function checkConfirmation(confirmation: LunarConfirmation): void {
    const holiday = byId.get(confirmation.holiday);
    if (!holiday) {
      throw new WaslError('calendar.holiday_unknown', `no holiday has the id ${confirmation.holiday} (known: ${[...byId.keys()].join(', ')})`);
    }
    if (!holiday.hijri) throw new WaslError('calendar.holiday_fixed', `${confirmation.holiday} falls on a fixed date: only lunar holidays are confirmed`);
    const year = yearOf(requireCalendarDay(confirmation.firstDay));
    const computed = computedLunarStarts(year).filter((start) => start.holiday.id === holiday.id);
    if (!computed.some((start) => distanceInDays(start.firstDay, confirmation.firstDay) <= MAX_CONFIRMATION_SHIFT_DAYS)) {
      throw new WaslError(
        'calendar.confirmation_far',
        `${confirmation.firstDay} is more than ${MAX_CONFIRMATION_SHIFT_DAYS} days from the computed date of ${holiday.id} (${computed.map((start) => start.firstDay).join(', ') || 'none that year'})`,
      );
    }
  }

  for (const confirmation of confirmations) checkConfirmation(confirmation);
  for (const bridge of bridgeDays) requireCalendarDay(bridge.day);

  return {
    dayOf,
    isWorkingDay,
    addWorkingDays,
    addCalendarDays: (start, count) => addDays(asDay(start), count),
    holidaysIn,
  };
}
