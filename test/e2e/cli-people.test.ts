/**
 * `wasl people` as an administrator uses it: staff added, granted, listed and removed from the
 * command line, on a SQLite register and on a PostgreSQL one; bad input said in one line, exit 2,
 * and nothing kept; and the person added is the one the core then finds behind an identity.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresRegister } from '../../src/db/postgres-register.js';
import { openSqliteRegister } from '../../src/db/sqlite-register.js';
import { askerOf } from '../../src/people/people.repository.js';
import { can } from '../../src/people/permissions.js';
import { runWasl } from '../helpers/cli.js';
import { keepUntilExit } from '../helpers/keep-alive.js';
import { POSTGRES_SKIP_REASON, postgresPerFile } from '../helpers/postgres-server.js';

// The shipped configuration's departments: BO, RH, URB, FIN.

// Each test runs the command several times, a process each: slow on a loaded machine, hence the time allowed.
describe('wasl people on a SQLite register', { timeout: 120_000 }, () => {
  let dataDir: string;
  const wasl = (...args: string[]) => runWasl({ args, env: { WASL_DATA_DIR: dataDir } });
  const handles = async (...flags: string[]) => (JSON.parse((await wasl('people', 'list', '--json', ...flags)).stdout) as { handle: string }[]).map((person) => person.handle);

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'wasl-people-'));
    // The register as a gateway leaves it: made and migrated; the command line never makes one.
    const register = openSqliteRegister({ file: join(dataDir, 'wasl.sqlite') });
    keepUntilExit(register);
    await register.close();
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('adds people with a role and their identities, and lists them as a table and as JSON', async () => {
    expect(await wasl('people', 'add', 'nadia', '--name', 'Nadia Benali', '--role', 'member', '--department', 'rh', '--email', 'Nadia.Benali@Example.gov', '--slack', 'U0NADIA')).toEqual({
      code: 0,
      stdout: 'added nadia (Nadia Benali): member RH; email:nadia.benali@example.gov, slack:U0NADIA\n',
      stderr: '',
    });
    expect((await wasl('people', 'add', 'karim', '--name', 'Karim Alaoui', '--role', 'clerk', '--matrix', '@karim:example.gov')).code).toBe(0);
    expect((await wasl('people', 'add', 'Salma', '--name', 'Salma Idrissi', '--role', 'admin')).stdout).toBe('added salma (Salma Idrissi): admin; no identity on a channel yet\n');

    expect(await wasl('people', 'list')).toEqual({
      code: 0,
      stdout: [
        'HANDLE  NAME           ROLES      IDENTITIES',
        'karim   Karim Alaoui   clerk      matrix:@karim:example.gov',
        'nadia   Nadia Benali   member RH  email:nadia.benali@example.gov, slack:U0NADIA',
        'salma   Salma Idrissi  admin      ',
        '',
      ].join('\n'),
      stderr: '',
    });
    const listed = JSON.parse((await wasl('people', 'list', '--json')).stdout) as unknown[];
    expect(listed[1]).toEqual({
      id: expect.any(Number),
      handle: 'nadia',
      name: 'Nadia Benali',
      addedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      removedAt: null,
      identities: [
        { channel: 'email', address: 'nadia.benali@example.gov' },
        { channel: 'slack', address: 'U0NADIA' },
      ],
      grants: [{ role: 'member', department: 'RH' }],
    });
  });

  it('refuses bad input in one line with exit 2, and keeps nothing of it', async () => {
    const before = await wasl('people', 'list', '--json');
    const attempts = [
      ['people', 'add', 'omar', '--name', 'Omar', '--role', 'chief'],
      ['people', 'add', 'omar', '--name', 'Omar', '--role', 'head', '--department', 'XX'],
      ['people', 'add', 'omar', '--name', 'Omar', '--role', 'member'],
      ['people', 'add', 'omar', '--name', 'Omar', '--role', 'clerk', '--department', 'RH'],
      ['people', 'add', 'omar', '--name', 'Omar', '--role', 'clerk', '--email', 'NADIA.BENALI@example.gov'],
      ['people', 'add', 'omar', '--name', 'Omar', '--role', 'clerk', '--slack', 'omar'],
      ['people', 'add', 'nadia', '--name', 'Nadia Tazi', '--role', 'clerk'],
      ['people', 'add', 'omar el', '--name', 'Omar', '--role', 'clerk'],
      ['people', 'add', 'omar', '--role', 'clerk'],
      ['people', 'grant', 'nadia', 'boss'],
      ['people', 'grant', 'nadia', 'head'],
    ];
    const results = [];
    for (const args of attempts) results.push({ args, ...(await wasl(...args)) });
    expect(results).toEqual(
      [
        "wasl: option '--role <role>' argument 'chief' is invalid. Allowed choices are clerk, member, head, admin.",
        'wasl: no department has the code XX; departments: BO, RH, URB, FIN',
        "wasl: the member role is a department's: give one (departments: BO, RH, URB, FIN)",
        "wasl: the clerk role is the whole office's: give no department",
        "wasl: the email identity nadia.benali@example.gov is already Nadia Benali's (nadia): one identity names one person; nothing was added",
        'wasl: omar is no slack identity: expected a Slack user id, such as U024BE7LH (a member\'s profile, "Copy member ID")',
        'wasl: the handle nadia is taken by Nadia Benali: choose another',
        'wasl: omar el cannot be a handle: letters, digits, ".", "_" or "-", at most 32, starting with a letter or digit',
        "wasl: required option '--name <name>' not specified",
        "wasl: command-argument value 'boss' is invalid for argument 'role'. Allowed choices are clerk, member, head, admin.",
        "wasl: the head role is a department's: give one (departments: BO, RH, URB, FIN)",
      ].map((message, index) => ({ args: attempts[index], code: 2, stdout: '', stderr: `${message}\n` })),
    );
    expect(await wasl('people', 'list', '--json')).toEqual(before);
  });

  it('grants a role once, and says when it was held already; an unknown handle exits 1', async () => {
    expect(await wasl('people', 'grant', 'nadia', 'head', '--department', 'urb')).toEqual({ code: 0, stdout: 'nadia is now head URB\n', stderr: '' });
    expect(await wasl('people', 'grant', 'nadia', 'head', '--department', 'URB')).toEqual({ code: 0, stdout: 'nadia is head URB already; nothing changed\n', stderr: '' });
    expect(await wasl('people', 'grant', 'nobody', 'clerk')).toEqual({ code: 1, stdout: '', stderr: "wasl: no one on the staff has the handle nobody (see 'wasl people list')\n" });
    expect((await wasl('people', 'list')).stdout).toContain('nadia   Nadia Benali   member RH, head URB  ');
  });

  it('hands the core the person behind an identity, with the roles granted: it decides what they may do', async () => {
    const register = openSqliteRegister({ file: join(dataDir, 'wasl.sqlite') });
    keepUntilExit(register);
    // As the email adapter reports a sender: the From address, here in another case than typed.
    const asker = await register.read((tx) => askerOf(tx, { channel: 'email', id: 'Nadia.Benali@example.gov' }));
    await register.close();
    expect(asker.person?.handle).toBe('nadia');
    expect(can(asker, 'close', { number: '2026-A-000001', departments: ['URB'] }).allowed).toBe(true);
    expect(can(asker, 'close', { number: '2026-A-000002', departments: ['RH'] })).toMatchObject({ allowed: false, refusal: { code: 'person.not_allowed' } });
  });

  it('removes a person: gone from the list, kept with --removed, and their identity may be given to someone new', async () => {
    expect(await wasl('people', 'remove', 'nadia')).toEqual({
      code: 0,
      stdout: 'nadia (Nadia Benali) removed from the staff: no longer acts on letters; the history still names them; their identities may be given to someone new\n',
      stderr: '',
    });
    expect(await wasl('people', 'remove', 'nadia')).toEqual({ code: 1, stdout: '', stderr: "wasl: no one on the staff has the handle nadia (see 'wasl people list')\n" });
    expect(await handles()).toEqual(['karim', 'salma']);
    expect(await handles('--removed')).toEqual(['karim', 'salma', 'nadia']);
    expect((await wasl('people', 'list', '--removed')).stdout).toMatch(/^nadia +Nadia Benali +member RH, head URB +email:nadia\.benali@example\.gov, slack:U0NADIA +\d{4}-\d\d-\d\dT[\d:.]+Z$/m);

    expect((await wasl('people', 'add', 'nadia', '--name', 'Nadia Tazi', '--role', 'member', '--department', 'FIN', '--email', 'nadia.benali@example.gov')).code).toBe(0);
    expect(await handles('--removed')).toEqual(['karim', 'nadia', 'salma', 'nadia']);
  });
});

describe.skipIf(POSTGRES_SKIP_REASON !== undefined)('wasl people on a PostgreSQL register', { timeout: 120_000 }, () => {
  const postgres = postgresPerFile();
  let url: string;
  const wasl = (...args: string[]) => runWasl({ args, env: { WASL_DATABASE_URL: url } });

  beforeAll(async () => {
    url = await postgres().createDatabase();
    await (await openPostgresRegister({ url })).close();
  }, 60_000);

  it('adds, grants and lists as on SQLite', async () => {
    expect(await wasl('people', 'add', 'nadia', '--name', 'Nadia Benali', '--role', 'member', '--department', 'RH', '--email', 'Nadia@Example.gov', '--slack', 'U0NADIA')).toEqual({
      code: 0,
      stdout: 'added nadia (Nadia Benali): member RH; email:nadia@example.gov, slack:U0NADIA\n',
      stderr: '',
    });
    expect(await wasl('people', 'grant', 'nadia', 'clerk')).toEqual({ code: 0, stdout: 'nadia is now clerk\n', stderr: '' });
    expect(await wasl('people', 'grant', 'nadia', 'clerk')).toEqual({ code: 0, stdout: 'nadia is clerk already; nothing changed\n', stderr: '' });
    expect(await wasl('people', 'list')).toEqual({
      code: 0,
      stdout: 'HANDLE  NAME          ROLES             IDENTITIES\nnadia   Nadia Benali  member RH, clerk  email:nadia@example.gov, slack:U0NADIA\n',
      stderr: '',
    });
  });

  it('gives an identity to one of two people added at the same moment, and tells the other who has it', async () => {
    const [first, second] = await Promise.all([
      wasl('people', 'add', 'omar', '--name', 'Omar Fassi', '--role', 'clerk', '--matrix', '@desk:example.gov'),
      wasl('people', 'add', 'leila', '--name', 'Leila Amrani', '--role', 'clerk', '--matrix', '@desk:example.gov'),
    ]);
    const outcomes = [first, second].map((result) => result.code).sort();
    expect(outcomes).toEqual([0, 2]);
    const refused = first.code === 2 ? first : second;
    expect(refused.stderr).toMatch(/^wasl: the matrix identity @desk:example\.gov is already (Omar Fassi's \(omar\)|Leila Amrani's \(leila\)): one identity names one person; nothing was added\n$/);
    const listed = JSON.parse((await wasl('people', 'list', '--json')).stdout) as { handle: string }[];
    expect(listed.map((person) => person.handle)).toHaveLength(2);
  });
});
