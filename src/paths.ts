/**
 * Where the shipped files (config/, templates/, drizzle/, vendor/) are. The code runs from src/
 * under vitest and from dist/src/ once built, so the root is found by walking up to package.json.
 * And how the data directory is kept its owner's alone.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { WaslError } from './errors.js';
import { fileURLToPath } from 'node:url';

function findProjectRoot(start: string): string {
  let directory = start;
  while (!existsSync(join(directory, 'package.json'))) {
    const parent = dirname(directory);
    if (parent === directory) throw new Error(`no package.json above ${start}`);
    directory = parent;
  }
  return directory;
}

export const PROJECT_ROOT = findProjectRoot(dirname(fileURLToPath(import.meta.url)));
export const SHIPPED_CONFIG_PATH = join(PROJECT_ROOT, 'config', 'default.yaml');
export const TEMPLATES_DIR = join(PROJECT_ROOT, 'templates');
/** The SQLite register's migrations (drizzle keys each by its hash and date, not its folder). */
export const MIGRATIONS_DIR = join(PROJECT_ROOT, 'drizzle', 'sqlite');
export const POSTGRES_MIGRATIONS_DIR = join(PROJECT_ROOT, 'drizzle', 'postgres');
export const TZDATA_DIR = join(PROJECT_ROOT, 'vendor', 'icu-tzdata');

/**
 * The register, its signing key and its secret are readable by their owner only: the data
 * directory is 0700 and its files 0600, stated with chmod rather than left to the umask (which
 * would narrow, never widen, and must not be changed process-wide: it is the embedding process's,
 * and worker threads cannot set it). chmod also repairs what an older version made 0644.
 */
export function makePrivateDirectory(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  restrictToOwner(path, 0o700);
}

/** Files of the data directory: 0600. One not there yet is skipped (SQLite makes -wal and -shm when it needs them). */
export function restrictFilesToOwner(files: readonly string[]): void {
  for (const file of files) if (existsSync(file)) restrictToOwner(file, 0o600);
}

function restrictToOwner(path: string, mode: number): void {
  try {
    chmodSync(path, mode);
  } catch (error) {
    throw new WaslError('data.mode', `cannot make ${path} private to its owner (mode ${mode.toString(8)}): run the gateway as the owner of dataDir`, { cause: error });
  }
}

/**
 * Makes a private file (0600) that must be made once only, such as a key: written whole under
 * another name, then linked into place. Processes starting together on one data directory (the
 * workers of `wasl start --workers`) all end up with the one that was linked first, and none reads
 * half a file. Returns what the file holds, and whether it is ours.
 */
export function createPrivateFileOnce(file: string, content: string | Buffer): { content: Buffer; created: boolean } {
  const draft = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    writeFileSync(draft, content, { mode: 0o600, flag: 'wx' });
    // The umask may have narrowed the mode further, never widened it; chmod states it plainly.
    chmodSync(draft, 0o600);
    linkSync(draft, file);
    return { content: Buffer.from(content), created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { content: readFileSync(file), created: false };
  } finally {
    rmSync(draft, { force: true });
  }
}
