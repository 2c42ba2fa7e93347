/**
 * Where the shipped files (config/, templates/, drizzle/, vendor/) are. The code runs from src/
 * under vitest and from dist/src/ once built, so the root is found by walking up to package.json.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
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
export const MIGRATIONS_DIR = join(PROJECT_ROOT, 'drizzle');
export const TZDATA_DIR = join(PROJECT_ROOT, 'vendor', 'icu-tzdata');
