/** Pure rules of the register: number forms, the year a letter belongs to, how dates read. */

export type Direction = 'A' | 'D';

export function formatNumber({ format, year, direction, sequence }: { format: string; year: number; direction: Direction; sequence: number }): string {
  return format
    .replaceAll('{year}', String(year))
    .replaceAll('{direction}', direction)
    .replace(/\{seq(?::(\d+))?\}/g, (_match, width: string | undefined) => String(sequence).padStart(Number(width ?? 0), '0'));
}

/** The registration year is the year on the office's calendar, not UTC's: a letter at 00:30 on 1 January in Casablanca belongs to the new year. */
export function yearIn({ date, timezone }: { date: Date; timezone: string }): number {
  return Number(cachedFormat(`year|${timezone}`, () => new Intl.DateTimeFormat('en', { timeZone: timezone, year: 'numeric' })).format(date));
}

/** Building an Intl formatter costs far more than using one (profiled on every letter): keep them. */
const formats = new Map<string, Intl.DateTimeFormat>();
function cachedFormat(key: string, make: () => Intl.DateTimeFormat): Intl.DateTimeFormat {
  let format = formats.get(key);
  if (!format) formats.set(key, (format = make()));
  return format;
}

/** A readable date and time in the office's zone and the reader's language. */
export function formatDateTime({ date, timezone, language }: { date: Date; timezone: string; language: string }): string {
  const locale = language === 'ar' ? 'ar-MA-u-nu-latn' : language === 'fr' ? 'fr-FR' : 'en-GB';
  return cachedFormat(`long|${locale}|${timezone}`, () => new Intl.DateTimeFormat(locale, { timeZone: timezone, dateStyle: 'long', timeStyle: 'medium' })).format(date) + ` (${timezone})`;
}
