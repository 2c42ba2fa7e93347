/** What the committed migrations of an engine say, for commands that check a register without migrating it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WaslError } from '../errors.js';

/** A register older than the code, as every command that will not migrate it says so. */
export function outdatedRegister(where: string): WaslError {
  return new WaslError('register.outdated', `the register at ${where} is from an older version; start the gateway once to upgrade it`);
}

/** When the newest migration this code ships for an engine was written: the last entry of drizzle's journal in its folder. */
export function newestMigrationShipped(folder: string): number {
  const journal = JSON.parse(readFileSync(join(folder, 'meta', '_journal.json'), 'utf8')) as { entries: { when: number }[] };
  return Math.max(...journal.entries.map((entry) => entry.when));
}
