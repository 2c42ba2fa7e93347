/**
 * The office calendar (dates people read, the registration year) uses the time-zone release of
 * Node.js's ICU, which a process can only replace as it starts (ICU_TIMEZONE_FILES_DIR). A newer
 * release ships in vendor/icu-tzdata (its README says why): this says when the running one is older.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { TZDATA_DIR } from '../paths.js';

/** Releases are named like 2026c: a year, then a letter per release in that year. */
const RELEASE = /^\d{4}[a-z]$/;

export function shippedTimeZoneData(directory = TZDATA_DIR): { release: string; directory: string } | undefined {
  if (!existsSync(directory)) return undefined;
  const release = readdirSync(directory)
    .filter((name) => RELEASE.test(name))
    .sort()
    .at(-1);
  return release ? { release, directory: join(directory, release) } : undefined;
}

/** What to tell the operator when the calendar runs on an older release than the one shipped. */
export function olderTimeZoneDataWarning({
  running,
  shipped,
  overridden,
}: {
  running: string | undefined;
  shipped: { release: string; directory: string } | undefined;
  overridden: string | undefined;
}): string | undefined {
  if (!shipped || overridden || !running || running >= shipped.release) return undefined;
  return (
    `this Node.js carries time-zone release ${running}, older than ${shipped.release} shipped with wasl: ` +
    `dates and registration years follow ${running} in every zone changed since (see vendor/icu-tzdata/README.md). ` +
    `Start the gateway with ICU_TIMEZONE_FILES_DIR=${shipped.directory}`
  );
}
