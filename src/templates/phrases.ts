/**
 * What a chat bot says, from `templates/<name>.<language>.yaml`: whole sentences per language
 * with `{name}` placeholders, beside the mails and pages, so translators find every text a
 * person reads in one place. Nested keys (`statuses: { registered: … }`) are named with dots.
 *
 * Read once, when the adapter's module loads; a missing or unexpected phrase in any language
 * stops the gateway at start, naming the file and the phrase.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { LANGUAGES, type Language } from '../config/config.schema.js';
import { WaslError } from '../errors.js';
import { TEMPLATES_DIR } from '../paths.js';
import { quoted } from './templates.js';

export interface PhraseBook<Key extends string> {
  /** The phrase in that language with its `{placeholders}` filled; a placeholder without a value stays visible. */
  say(input: { language: Language; key: Key; values?: Record<string, string | number> | undefined }): string;
}

function flatten(value: unknown, prefix: string, into: Map<string, unknown>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [name, inner] of Object.entries(value)) flatten(inner, prefix ? `${prefix}.${name}` : name, into);
  } else {
    into.set(prefix, value);
  }
}

export function loadPhrases<Key extends string>({ name, keys, directory = TEMPLATES_DIR }: { name: string; keys: readonly Key[]; directory?: string }): PhraseBook<Key> {
  const books = new Map<Language, Map<string, string>>();
  for (const language of LANGUAGES) {
    const file = join(directory, `${name}.${language}.yaml`);
    const invalid = (reason: string) => new WaslError('templates.invalid', `${file}: ${reason}`);
    const found = new Map<string, unknown>();
    try {
      flatten(parse(readFileSync(file, 'utf8')) as unknown, '', found);
    } catch (error) {
      throw invalid(error instanceof Error ? error.message : String(error));
    }
    for (const key of keys) {
      if (typeof found.get(key) !== 'string') throw invalid(`the phrase "${key}" is missing (it must be a text)`);
    }
    const unexpected = [...found.keys()].filter((key) => !(keys as readonly string[]).includes(key));
    if (unexpected.length > 0) throw invalid(`no phrase is called "${unexpected[0]}"; known phrases: ${keys.join(', ')}`);
    books.set(language, found as Map<string, string>);
  }
  return {
    say: ({ language, key, values = {} }) => fillPhrase(books.get(language)!.get(key)!, values, language),
  };
}

/** A phrase's `{placeholders}` filled, each value quoted as the language quotes it; a placeholder without a value stays visible. */
export function fillPhrase(phrase: string, values: Record<string, string | number>, language: Language): string {
  return phrase.replace(/\{(\w+)\}/g, (whole, placeholder: string) => (placeholder in values ? quoted(String(values[placeholder]), language) : whole));
}
