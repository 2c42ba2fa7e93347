/** The configuration is checked whole at start, and every problem names its key. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { adapterDefinitions } from '../../src/channels/registry.js';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/config.load.js';
import { maskSecrets } from '../../src/config/secrets.js';
import { PROJECT_ROOT } from '../../src/paths.js';

const adapters = adapterDefinitions;

function problemsOf(raw: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig({ raw, env, adapters });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('the configuration was accepted');
}

describe('configuration', () => {
  it('the shipped default starts with no external server: SQLite in data/ beside config/, SMTP 127.0.0.1:2525, HTTP 127.0.0.1:8080, the built-in mailbox', () => {
    const config = loadConfig({ env: {}, adapters });
    expect(config).toMatchObject({ dataDir: join(PROJECT_ROOT, 'data'), http: { host: '127.0.0.1', port: 8080 }, mail: { domain: 'wasl.local' }, timezone: 'Africa/Casablanca' });
    expect(config.adapters.email).toMatchObject({ smtp: { host: '127.0.0.1', port: 2525, reverseLookup: false }, outbound: { url: null } });
    expect(config.departments.length).toBeGreaterThan(1);
  });

  it('an empty file is a working configuration: every key has a default', () => {
    expect(parseConfig({ raw: null, adapters }).http.port).toBe(8080);
  });

  it('a value of the wrong type is refused with its key named', () => {
    expect(problemsOf({ http: { port: 'eighty' } })).toEqual([expect.stringMatching(/^http\.port: /)]);
  });

  it('a misspelt key is refused rather than silently ignored', () => {
    expect(problemsOf({ mail: { domian: 'x.test' } })).toEqual(['mail.domian: unknown key']);
    expect(problemsOf({ adapters: { email: { smtp: { prot: 25 } } } })).toEqual(['adapters.email.smtp.prot: unknown key']);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({ language: 'de', timezone: 'Mars/Olympus', numbering: { format: '{seq}' } });
    expect(problems.map((problem) => problem.split(':')[0])).toEqual(['language', 'timezone', 'numbering.format']);
  });

  it('refuses department addresses outside the mail domain, duplicates, and an unknown fallback department or mail office', () => {
    const names = { ar: 'أ', fr: 'A', en: 'A' };
    const problems = problemsOf({
      routing: { fallbackDepartment: 'ZZ', mailOffice: 'yy' },
      departments: [
        { code: 'A', names, addresses: ['a@elsewhere.test'] },
        { code: 'a', names, addresses: [] },
      ],
    });
    expect(problems).toEqual([
      'departments[0].addresses[0]: a@elsewhere.test is not of the mail domain wasl.local',
      'departments[1].code: duplicate department code A',
      'routing.fallbackDepartment: no department has the code ZZ',
      'routing.mailOffice: no department has the code YY',
    ]);
  });

  it('environment variables override the file, and a bad one names the key it sets', () => {
    const config = parseConfig({
      raw: {},
      env: { WASL_DATA_DIR: '/tmp/x', WASL_SMTP_PORT: '2600', WASL_HTTP_PORT: '8100', WASL_PUBLIC_URL: 'https://courrier.example.gov', WASL_OUTBOUND_SMTP_URL: 'smtp://127.0.0.1:2526' },
      adapters,
    });
    expect(config).toMatchObject({ dataDir: '/tmp/x', http: { port: 8100 }, publicUrl: 'https://courrier.example.gov' });
    expect(config.adapters.email).toMatchObject({ smtp: { port: 2600 }, outbound: { url: 'smtp://127.0.0.1:2526' } });
    expect(problemsOf({}, { WASL_SMTP_PORT: 'abc' })).toEqual(['adapters.email.smtp.port (from WASL_SMTP_PORT): "abc" is not a number']);
    expect(problemsOf({}, { WASL_OUTBOUND_SMTP_URL: 'http://x' })).toEqual(['adapters.email.outbound.url: must start with smtp:// or smtps://']);
  });

  it('a missing file is named', () => {
    expect(() => loadConfig({ file: '/nonexistent/wasl.yaml', env: {}, adapters })).toThrow(/\/nonexistent\/wasl\.yaml: no such file/);
  });
});

describe('the outbound relay URL', () => {
  it('becomes explicit connection options, so timeouts and pool settings beside it apply', async () => {
    const { relayAddress } = await import('../../adapters/email/relay-transport.js');
    expect(relayAddress('smtp://127.0.0.1:2526')).toEqual({ host: '127.0.0.1', port: 2526, secure: false });
    expect(relayAddress('smtps://user%40office:p%40ss@relay.example.gov')).toEqual({ host: 'relay.example.gov', port: 465, secure: true, auth: { user: 'user@office', pass: 'p@ss' } });
    expect(relayAddress('smtp://[::1]:25')).toMatchObject({ host: '::1', port: 25 });
  });
});

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

describe('the gateway processes of `wasl start` (workers)', () => {
  it('is 1 by default, and takes a number or auto, from the file or WASL_WORKERS', () => {
    expect(parseConfig({ raw: {}, adapters }).workers).toBe(1);
    expect(parseConfig({ raw: { workers: 4 }, adapters }).workers).toBe(4);
    expect(parseConfig({ raw: { workers: 'auto' }, adapters }).workers).toBe('auto');
    expect(parseConfig({ raw: {}, env: { WASL_WORKERS: '3' }, adapters }).workers).toBe(3);
  });

  it('refuses anything else, naming the key', () => {
    for (const workers of [0, 1.5, 'all', -2]) expect(problemsOf({ workers })[0]).toMatch(/^workers: /);
  });
});

describe('the lease of work one gateway at a time does (leadership)', () => {
  it('moves within seconds by default: a lease of 15 s renewed every 5 s', () => {
    expect(parseConfig({ raw: {}, adapters }).leadership).toEqual({ ttlMs: 15_000, renewEveryMs: 5000 });
  });

  it('refuses renewals too rare for the lease, naming the key', () => {
    expect(problemsOf({ leadership: { ttlMs: 4000, renewEveryMs: 3000 } })).toEqual([
      'leadership.renewEveryMs: must be at most half of leadership.ttlMs, so that one late renewal does not hand the work over',
    ]);
    expect(problemsOf({ leadership: { ttlMs: 10 } })).toContainEqual(expect.stringMatching(/^leadership\.ttlMs: /));
  });
});
