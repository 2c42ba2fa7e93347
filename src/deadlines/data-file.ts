/**
 * The calendar's data files (a country's holidays, the deadline rules) are read like the
 * configuration: YAML checked whole by a zod schema, every problem naming the file and its key,
 * thrown as a ConfigError (exit 2) before anything is computed from a bad file.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type * as z from 'zod';
import { ConfigError, describeIssues } from '../config/config.load.js';

export function loadDataFile<Schema extends z.ZodType>({ file, schema }: { file: string; schema: Schema }): z.output<Schema> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`(file) ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error)}`]);
  }
  const document = parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) throw new ConfigError(document.errors.map((error) => `(yaml) ${file}: ${error.message}`));
  return parseData({ raw: document.toJS(), schema, source: file });
}

/** Checks data already read from YAML or elsewhere; `source` names it in each problem. */
export function parseData<Schema extends z.ZodType>({ raw, schema, source }: { raw: unknown; schema: Schema; source: string }): z.output<Schema> {
  // Parsed once a process: compiling the checks to code would cost more than it saves (as config.load.ts).
  const result = schema.safeParse(raw, { jitless: true });
  if (!result.success) throw new ConfigError(describeIssues(result.error.issues).map((problem) => `${source}: ${problem}`));
  return result.data;
}
