/**
 * Reads the YAML configuration, applies environment overrides, and validates it whole: every
 * problem is reported at once, each naming its key, before any socket opens.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import * as z from 'zod';
import type { AdapterDefinition } from '../channels/port.js';
import { WaslError } from '../errors.js';
import { SHIPPED_CONFIG_PATH } from '../paths.js';
import { coreConfigSchema, coreEnvironment, type CoreConfig } from './config.schema.js';

export type WaslConfig = CoreConfig & { adapters: Record<string, unknown> };

export class ConfigError extends WaslError {
  readonly problems: string[];
  constructor(problems: string[]) {
    super('config.invalid', `invalid configuration:\n  ${problems.join('\n  ')}`);
    this.problems = problems;
  }
}

type EnvironmentMap = AdapterDefinition['environment'];

/**
 * Which adapters' sections are checked: their definitions, or `'unchecked'` for the commands that
 * only read the register. Those need no adapter setting, so they load none of the channel
 * libraries (Slack, Matrix, mail parsing take over a second to load) and keep the sections as written.
 */
export type AdapterChecks = readonly AdapterDefinition[] | 'unchecked';

/** Builds the full schema: the core's keys plus each adapter's under `adapters.<name>`. */
function fullSchema(adapters: AdapterChecks) {
  const adapterShape: Record<string, z.ZodType> = {};
  for (const adapter of adapters === 'unchecked' ? [] : adapters) adapterShape[adapter.name] = adapter.configSchema;
  const adapterSections = adapters === 'unchecked' ? z.record(z.string(), z.unknown()) : z.strictObject(adapterShape);
  return coreConfigSchema
    .extend({ adapters: adapterSections.prefault({}) })
    .superRefine((config, context) => {
      const seenCodes = new Set<string>();
      const seenAddresses = new Map<string, string>();
      config.departments.forEach((department, index) => {
        if (seenCodes.has(department.code)) {
          context.addIssue({ code: 'custom', path: ['departments', index, 'code'], message: `duplicate department code ${department.code}` });
        }
        seenCodes.add(department.code);
        department.addresses.forEach((address, addressIndex) => {
          const path = ['departments', index, 'addresses', addressIndex];
          if (!address.endsWith(`@${config.mail.domain}`)) {
            context.addIssue({ code: 'custom', path, message: `${address} is not of the mail domain ${config.mail.domain}` });
          }
          const owner = seenAddresses.get(address);
          if (owner) context.addIssue({ code: 'custom', path, message: `${address} already reaches ${owner}` });
          seenAddresses.set(address, department.code);
        });
      });
      for (const key of ['fallbackDepartment', 'mailOffice'] as const) {
        const code = config.routing[key];
        if (code && !seenCodes.has(code)) context.addIssue({ code: 'custom', path: ['routing', key], message: `no department has the code ${code}` });
      }
    });
}

function setPath(target: Record<string, unknown>, dottedKey: string, value: unknown): void {
  const keys = dottedKey.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function applyEnvironment({
  raw,
  env,
  variables,
  problems,
}: {
  raw: Record<string, unknown>;
  env: NodeJS.ProcessEnv;
  variables: EnvironmentMap;
  problems: string[];
}): void {
  for (const [name, { key, type }] of Object.entries(variables)) {
    const text = env[name];
    if (text === undefined || text === '') continue;
    if (type === 'number') {
      const number = Number(text);
      if (!Number.isFinite(number)) problems.push(`${key} (from ${name}): "${text}" is not a number`);
      else setPath(raw, key, number);
    } else if (type === 'boolean') {
      if (!['true', 'false', '1', '0'].includes(text)) problems.push(`${key} (from ${name}): "${text}" is not true or false`);
      else setPath(raw, key, text === 'true' || text === '1');
    } else {
      setPath(raw, key, text);
    }
  }
}

function formatIssuePath(path: readonly PropertyKey[]): string {
  return path.map((part) => (typeof part === 'number' ? `[${part}]` : String(part))).join('.').replace(/\.\[/g, '[') || '(root)';
}

/** One line per problem zod found, each naming its key (`departments[1].code: …`); a misspelt key is named as unknown. */
export function describeIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys' && issue.keys.length > 0
      ? issue.keys.map((key) => `${formatIssuePath([...issue.path, key])}: unknown key`)
      : [`${formatIssuePath(issue.path)}: ${issue.message}`],
  );
}

/**
 * Validates a configuration object (already read from YAML) with environment overrides.
 * Throws ConfigError listing every problem.
 */
export function parseConfig({
  raw,
  env = {},
  adapters,
}: {
  raw: unknown;
  env?: NodeJS.ProcessEnv;
  adapters: AdapterChecks;
}): WaslConfig {
  const problems: string[] = [];
  if (raw !== null && raw !== undefined && (typeof raw !== 'object' || Array.isArray(raw))) {
    throw new ConfigError(['(root): the configuration must be a mapping of keys']);
  }
  const copy = structuredClone((raw ?? {}) as Record<string, unknown>);
  applyEnvironment({ raw: copy, env, variables: coreEnvironment, problems });
  for (const adapter of adapters === 'unchecked' ? [] : adapters) {
    applyEnvironment({ raw: copy, env, variables: prefixed(adapter), problems });
  }
  // Parsed once a process: zod would first compile each object's check to code (new Function), which costs more than it saves.
  const result = fullSchema(adapters).safeParse(copy, { jitless: true });
  if (!result.success) problems.push(...describeIssues(result.error.issues));
  if (problems.length > 0 || !result.success) throw new ConfigError(problems);
  return result.data as WaslConfig;
}

function prefixed(adapter: AdapterDefinition): EnvironmentMap {
  return Object.fromEntries(
    Object.entries(adapter.environment).map(([name, spec]) => [name, { ...spec, key: `adapters.${adapter.name}.${spec.key}` }]),
  );
}

/** What a YAML file holds, or a ConfigError naming the file: missing, unreadable or not YAML. */
export function readYamlFile(source: string): unknown {
  let text: string;
  try {
    text = readFileSync(source, 'utf8');
  } catch (error) {
    throw new ConfigError([`(file) ${source}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error)}`]);
  }
  const document = parseDocument(text, { prettyErrors: true });
  if (document.errors.length > 0) {
    throw new ConfigError(document.errors.map((error) => `(yaml) ${source}: ${error.message}`));
  }
  return document.toJS();
}

/**
 * Reads and validates a YAML file: `--config FILE`, else WASL_CONFIG, else the shipped default.
 * A relative `dataDir` written in the file is relative to the file's folder, so that every command
 * finds the same register from any working directory; WASL_DATA_DIR, like any path typed in a
 * shell, is relative to the working directory. Either way the result is absolute.
 */
export function loadConfig({
  file,
  env = process.env,
  adapters,
}: {
  file?: string | undefined;
  env?: NodeJS.ProcessEnv;
  adapters: AdapterChecks;
}): WaslConfig & { source: string } {
  const source = file ?? env.WASL_CONFIG ?? SHIPPED_CONFIG_PATH;
  const settings = parseConfig({ raw: readYamlFile(source), env, adapters });
  const dataDir = env.WASL_DATA_DIR ? resolve(settings.dataDir) : resolve(dirname(source), settings.dataDir);
  return { ...settings, dataDir, source };
}
