/** database.url: the PostgreSQL register, named by a postgres:// URL in the file or WASL_DATABASE_URL. */
import { describe, expect, it } from 'vitest';
import { adapterDefinitions as adapters } from '../../src/channels/registry.js';
import { ConfigError, parseConfig } from '../../src/config/config.load.js';
import { maskSecrets } from '../../src/config/secrets.js';

function problemsOf(raw: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig({ raw, env, adapters });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('the PostgreSQL register URL (database.url)', () => {
  it('is unset by default: the register is SQLite in the data directory', () => {
    expect(parseConfig({ raw: {}, adapters }).database.url).toBeUndefined();
  });

  it('takes postgres:// and postgresql:// URLs, and the environment wins over the file', () => {
    expect(parseConfig({ raw: { database: { url: 'postgres://wasl@db.example:5432/wasl' } }, adapters }).database.url).toBe('postgres://wasl@db.example:5432/wasl');
    const config = parseConfig({
      raw: { database: { url: 'postgres://wasl@db.example/wasl' } },
      env: { WASL_DATABASE_URL: 'postgresql://wasl:secret@10.0.0.5/register?sslmode=require' },
      adapters,
    });
    expect(config.database.url).toBe('postgresql://wasl:secret@10.0.0.5/register?sslmode=require');
    // `wasl config show` masks its password.
    expect(maskSecrets(config)).toMatchObject({ database: { url: 'postgresql://wasl:***@10.0.0.5/register?sslmode=require' } });
  });

  it('refuses any other scheme, naming the key, from the file or the environment', () => {
    const refusal = 'must be a postgres:// or postgresql:// URL, e.g. postgres://wasl@db.example:5432/wasl';
    expect(problemsOf({ database: { url: 'mysql://wasl@db.example/wasl' } })).toEqual([`database.url: ${refusal}`]);
    expect(problemsOf({ database: { url: './data/wasl.sqlite' } })).toEqual([`database.url: ${refusal}`]);
    expect(problemsOf({}, { WASL_DATABASE_URL: 'sqlite:///var/lib/wasl' })).toEqual([`database.url: ${refusal}`]);
  });
});
