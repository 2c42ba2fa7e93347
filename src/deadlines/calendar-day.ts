/**
 * A day of the office's calendar, written as ISO 8601 (`2026-03-20`): what deadlines count in,
 * apart from any time or zone. An instant becomes a day in the office's time zone only; all the
 * arithmetic after that is on whole days (computed in UTC, where every day has 24 hours).
 */
import { WaslError } from '../errors.js';

export type CalendarDay = string;

export const WEEKDAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const DAY_MS = 86_400_000;
const ISO_DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Whether the text is a day that exists (`2026-02-29` does not). */
export function isCalendarDay(text: string): boolean {
  const match = ISO_DAY.exec(text);
  if (!match) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

export function requireCalendarDay(text: string): CalendarDay {
  if (!isCalendarDay(text)) throw new WaslError('calendar.day_invalid', `${text} is not a day written YYYY-MM-DD`);
  return text;
}

function toUtcMidnight(day: CalendarDay): number {
  return Date.parse(`${requireCalendarDay(day)}T00:00:00Z`);
}

function fromUtcMidnight(time: number): CalendarDay {
  return new Date(time).toISOString().slice(0, 10);
}

export function addDays(day: CalendarDay, count: number): CalendarDay {
  return fromUtcMidnight(toUtcMidnight(day) + count * DAY_MS);
}

export function weekdayOf(day: CalendarDay): Weekday {
  return WEEKDAYS[new Date(toUtcMidnight(day)).getUTCDay()]!;
}

export function yearOf(day: CalendarDay): number {
  return Number(day.slice(0, 4));
}

/** Building an Intl formatter costs far more than using one: one a zone. */
const dayFormats = new Map<string, Intl.DateTimeFormat>();

/** The day an instant falls on in a time zone: 23:30 UTC on 4 December is already 5 December in Casablanca (UTC+1). */
export function dayIn({ instant, timezone }: { instant: Date; timezone: string }): CalendarDay {
  let format = dayFormats.get(timezone);
  if (!format) {
    // en-CA writes dates as YYYY-MM-DD; the parts are read by type all the same, whatever the order.
    format = new Intl.DateTimeFormat('en-CA', { timeZone: timezone, year: 'numeric', month: '2-digit', day: '2-digit' });
    dayFormats.set(timezone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(instant).map((part) => [part.type, part.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}
