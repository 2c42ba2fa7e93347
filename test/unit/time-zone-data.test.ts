/** The time-zone release the office calendar runs on, and the newer one shipped in vendor/icu-tzdata. */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { olderTimeZoneDataWarning, shippedTimeZoneData } from '../../src/letters/time-zone-data.js';

const shipped = shippedTimeZoneData()!;

describe('the shipped time-zone data', () => {
  it('is what a Node.js started with ICU_TIMEZONE_FILES_DIR uses: 23:30 UTC on 31 December 2026 is still 2026 in Casablanca', () => {
    // What yearIn and formatDateTime ask ICU, in a process started with the variable (ICU reads it only then).
    const probe = `
      const at = new Date('2026-12-31T23:30:00Z');
      const year = new Intl.DateTimeFormat('en', { timeZone: 'Africa/Casablanca', year: 'numeric' }).format(at);
      const time = new Intl.DateTimeFormat('en-GB', { timeZone: 'Africa/Casablanca', timeStyle: 'short' }).format(at);
      console.log(JSON.stringify({ tz: process.versions.tz, year, time }));`;
    const seen = JSON.parse(execFileSync(process.execPath, ['-e', probe], { env: { ...process.env, ICU_TIMEZONE_FILES_DIR: shipped.directory }, encoding: 'utf8' }));
    expect(seen).toEqual({ tz: shipped.release, year: '2026', time: '23:30' });
  });

  it('makes the gateway warn, naming the folder, when the running Node.js carries an older release and the variable is not set', () => {
    const warning = olderTimeZoneDataWarning({ running: '2025c', shipped, overridden: undefined });
    expect(warning).toContain(`time-zone release 2025c, older than ${shipped.release}`);
    expect(warning).toContain(`ICU_TIMEZONE_FILES_DIR=${shipped.directory}`);
    expect(olderTimeZoneDataWarning({ running: shipped.release, shipped, overridden: undefined })).toBeUndefined();
    expect(olderTimeZoneDataWarning({ running: '2027a', shipped, overridden: undefined })).toBeUndefined();
    expect(olderTimeZoneDataWarning({ running: '2025c', shipped, overridden: '/etc/icu-tz' })).toBeUndefined();
  });
});
