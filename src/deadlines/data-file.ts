/**
 * The calendar's data files (a country's holidays, the deadline rules) are read like the
 * configuration: YAML checked whole by a zod schema, every problem naming the file and its key,
 * thrown as a ConfigError (exit 2) before anything is computed from a bad file.
 */
import type * as z from 'zod';
import { ConfigError, describeIssues, readYamlFile } from '../config/config.load.js';

export function loadDataFile<Schema extends z.ZodType>({ file, schema }: { file: string; schema: Schema }): z.output<Schema> {
  return parseData({ raw: readYamlFile(file), schema, source: file });
}

/** Checks data already read from YAML or elsewhere; `source` names it in each problem. */
export function parseData<Schema extends z.ZodType>({ raw, schema, source }: { raw: unknown; schema: Schema; source: string }): z.output<Schema> {
  // Parsed once a process: compiling the checks to code would cost more than it saves (as config.load.ts).
  const result = schema.safeParse(raw, { jitless: true });
  if (!result.success) throw new ConfigError(describeIssues(result.error.issues).map((problem) => `${source}: ${problem}`));
  return result.data;
}
