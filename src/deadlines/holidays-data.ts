/**
 * A country's weekend and public holidays, as data (config/holidays/<country>.yaml): fixed ones on
 * a Gregorian month and day, lunar ones on a Hijri month and day, computed with one of ICU's
 * Islamic calendars until an administrator confirms the date announced.
 */
import { dirname, join } from 'node:path';
import * as z from 'zod';
import { SHIPPED_CONFIG_PATH } from '../paths.js';
import { isCalendarDay, WEEKDAYS } from './calendar-day.js';
import { loadDataFile } from './data-file.js';

export const translatedNames = z.strictObject({
  ar: z.string().min(1),
  fr: z.string().min(1),
  en: z.string().min(1),
});
export type TranslatedNames = z.output<typeof translatedNames>;

const MONTH_DAY = /^(\d{2})-(\d{2})$/;

function monthDay(text: string): { month: number; day: number } {
  const match = MONTH_DAY.exec(text);
  return { month: Number(match?.[1]), day: Number(match?.[2]) };
}

const gregorianMonthDay = z
  .string()
  // 2025 has no 29 February: a holiday must fall on a day every year has.
  .refine((text) => MONTH_DAY.test(text) && isCalendarDay(`2025-${text}`), 'must be a month and day every year has, written MM-DD (e.g. 01-11)')
  .transform(monthDay);

const hijriMonthDay = z
  .string()
  .refine((text) => {
    const { month, day } = monthDay(text);
    return MONTH_DAY.test(text) && month >= 1 && month <= 12 && day >= 1 && day <= 30;
  }, 'must be a Hijri month (01-12) and day (01-30), written MM-DD (e.g. 10-01 for 1 Shawwal)')
  .transform(monthDay);

const holidaySchema = z
  .strictObject({
    /** Names the holiday in confirmations (`2027-03-10 eid-al-fitr`). */
    id: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/, 'lowercase letters and digits joined by "-", e.g. eid-al-fitr'),
    names: translatedNames,
    gregorian: gregorianMonthDay.optional(),
    hijri: hijriMonthDay.optional(),
    /** Consecutive days off from the first (Eid al-Fitr: 2). */
    days: z.number().int().min(1).max(10).default(1),
  })
  .superRefine((holiday, context) => {
    if ((holiday.gregorian === undefined) === (holiday.hijri === undefined)) {
      context.addIssue({ code: 'custom', path: ['gregorian'], message: 'give exactly one of gregorian (fixed) or hijri (lunar)' });
    }
  });

/** ICU's Islamic calendars; an engine without one would silently answer in the Gregorian calendar, so it is checked. */
const ISLAMIC_CALENDARS = ['islamic', 'islamic-civil', 'islamic-tbla', 'islamic-umalqura', 'islamic-rgsa'] as const;

export const holidayDataSchema = z
  .strictObject({
    /** Days of the week the offices are closed. */
    weekend: z
      .array(z.enum(WEEKDAYS))
      .max(6, 'at least one day of the week must be worked')
      .refine((days) => new Set(days).size === days.length, 'names a day twice'),
    islamicCalendar: z
      .enum(ISLAMIC_CALENDARS)
      .refine(
        (calendar) => new Intl.DateTimeFormat(`en-u-ca-${calendar}`).resolvedOptions().calendar === calendar,
        'this Node.js has no such calendar (it needs full ICU)',
      ),
    holidays: z.array(holidaySchema),
  })
  .superRefine((data, context) => {
    const seen = new Set<string>();
    data.holidays.forEach((holiday, index) => {
      if (seen.has(holiday.id)) context.addIssue({ code: 'custom', path: ['holidays', index, 'id'], message: `duplicate holiday id ${holiday.id}` });
      seen.add(holiday.id);
    });
  });

export type HolidayData = z.output<typeof holidayDataSchema>;
export type HolidayDefinition = HolidayData['holidays'][number];

/** The file shipped for a country (ISO 3166 code, lowercase: ma). */
export function shippedHolidaysFile(country: string): string {
  return join(dirname(SHIPPED_CONFIG_PATH), 'holidays', `${country}.yaml`);
}

export function loadHolidayData(file: string): HolidayData {
  return loadDataFile({ file, schema: holidayDataSchema });
}
