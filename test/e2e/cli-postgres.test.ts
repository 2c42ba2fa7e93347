/**
 * The `wasl` command on a PostgreSQL register, as an office running its gateways on one uses it:
 * every register command answers as it does on SQLite, a database that is no register (yet) is
 * said as such, and `wasl register copy` moves an office's SQLite register to PostgreSQL whole.
 */
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { openPostgresRegister } from '../../src/db/postgres-register.js';
import { copyRegister } from '../../src/db/register-copy.js';
import { openSqliteRegister } from '../../src/db/sqlite-register.js';
import { runWasl } from '../helpers/cli.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { keepUntilExit } from '../helpers/keep-alive.js';
import { composeMessage } from '../helpers/messages.js';
import { POSTGRES_SKIP_REASON, postgresPerFile } from '../helpers/postgres-server.js';
import { sendLetter } from '../helpers/smtp-client.js';

const NUMBER = /\d{4}-A-\d{6}/;

/** A URL with a password the test server does not ask for (trust), to see that no answer shows it. */
const withPassword = (url: string) => url.replace('postgres://postgres@', 'postgres://postgres:hunter2@');

describe.skipIf(POSTGRES_SKIP_REASON !== undefined)('wasl on a PostgreSQL register', () => {
  const postgres = postgresPerFile();

  describe('the register commands', () => {
    let test: TestGateway;
    let url: string;
    let configFile: string;
    let sqliteDataDir: string;
    let numbers: string[];
    /** The same command on the PostgreSQL register (the gateway's data directory for its key) and on a SQLite copy of it. */
    const onBoth = (...args: string[]) =>
      Promise.all([
        runWasl({ args: ['--config', configFile, ...args], env: { WASL_DATABASE_URL: withPassword(url) } }),
        runWasl({ args: ['--config', configFile, ...args], env: { WASL_DATA_DIR: sqliteDataDir } }),
      ]);

    beforeAll(async () => {
      url = await postgres().createDatabase();
      // No relay: outgoing mail is kept in the built-in mailbox, for `mailbox` to show.
      test = await startTestGateway({ relay: false, config: { database: { url } } });
      const withAttachment = await composeMessage({ from: 'Nadia <nadia@citizen.test>', to: 'rh@wasl.local', subject: 'Attestation', text: 'Ci-joint.', attachments: [{ filename: 'a.txt', content: 'abc' }] });
      const replies = [
        await sendLetter({ port: test.smtpPort, from: 'nadia@citizen.test', to: ['rh@wasl.local'], message: withAttachment }),
        await sendLetter({ port: test.smtpPort, from: 'omar@citizen.test', to: ['urbanisme@wasl.local'], message: 'From: omar@citizen.test\r\nSubject: Permis\r\n\r\nDemande de permis.\r\n' }),
      ];
      numbers = replies.map((reply) => NUMBER.exec(reply.data!.text)![0]);
      await test.gateway.outbox.idle();
      // Omar's receipt bounced: one failed delivery, for `deliveries list --failed` and `retry`.
      const omar = await test.gateway.database.read((tx) => tx.db.select().from(tx.tables.deliveries));
      const receipt = omar.find((delivery) => delivery.kind === 'receipt' && delivery.targetId === 'omar@citizen.test')!;
      await test.gateway.port.reportUndeliverable({ deliveryIds: [receipt.id], reason: '550 5.1.1 no such user' });
      await test.stopGateway();

      // The same rows in a SQLite register, with the same key: what the commands answer there is the reference.
      sqliteDataDir = mkdtempSync(join(tmpdir(), 'wasl-cli-pg-'));
      cpSync(join(test.dataDir, 'keys'), join(sqliteDataDir, 'keys'), { recursive: true });
      const sqlite = openSqliteRegister({ file: join(sqliteDataDir, 'wasl.sqlite') });
      keepUntilExit(sqlite);
      const source = await openPostgresRegister({ url });
      await copyRegister({ from: source, to: sqlite });
      await Promise.all([source.close(), sqlite.close()]);

      configFile = join(test.dataDir, 'wasl.yaml');
      const { url: _url, ...sqliteDatabase } = test.config.database;
      writeFileSync(configFile, stringify({ ...test.config, database: sqliteDatabase, publicUrl: 'https://courrier.example.gov' }));
    }, 60_000);
    afterAll(async () => {
      await test?.stop();
      if (sqliteDataDir) rmSync(sqliteDataDir, { recursive: true, force: true });
    });

    it('letters, deliveries and the mailbox list and show as on SQLite', { timeout: 120_000 }, async () => {
      const commands = [
        ['letters', 'list'],
        ['letters', 'list', '--json'],
        ['letters', 'list', '--department', 'URB', '--json'],
        ['letters', 'show', numbers[0]!],
        ['letters', 'show', numbers[1]!, '--json'],
        ['deliveries', 'list'],
        ['deliveries', 'list', '--failed', '--json'],
        ['mailbox', 'list', '--json'],
        ['mailbox', 'show', '1'],
      ];
      for (const args of commands) {
        const [onPostgres, onSqlite] = await onBoth(...args);
        expect({ args, ...onPostgres }).toEqual({ args, ...onSqlite, code: 0, stderr: '' });
      }
      const [listed] = await onBoth('letters', 'list', '--json');
      expect((JSON.parse(listed.stdout) as { number: string }[]).map((letter) => letter.number)).toEqual([...numbers].reverse());
    });

    it('register verify passes, with the same count', async () => {
      const [onPostgres, onSqlite] = await onBoth('register', 'verify');
      expect(onPostgres).toEqual({ code: 0, stdout: 'register intact: 2 entries checked\n', stderr: '' });
      expect(onPostgres).toEqual(onSqlite);
    });

    it('deliveries retry queues the failed delivery again, and says so as on SQLite', async () => {
      const [onPostgres, onSqlite] = await onBoth('deliveries', 'retry');
      expect(onPostgres).toEqual({ code: 0, stdout: '1 delivery queued again\n', stderr: '' });
      expect(onPostgres).toEqual(onSqlite);
      const [pending] = await onBoth('deliveries', 'list', '--pending', '--json');
      expect(JSON.parse(pending.stdout)).toEqual([expect.objectContaining({ kind: 'receipt', targetId: 'omar@citizen.test', status: 'pending' })]);
    });
  });

  describe('wasl register copy, moving an office from SQLite to PostgreSQL', () => {
    let office: TestGateway;
    let configFile: string;
    let numbers: string[];
    let hashesBefore: unknown[];
    const wasl = (args: string[], env: Record<string, string> = {}) => runWasl({ args: ['--config', configFile, ...args], env });
    /** The register's chain as a gateway reads it: each letter's entry hash. */
    const entryHashes = ({ gateway }: TestGateway) =>
      gateway.database.read((tx) => tx.db.select({ number: tx.tables.letters.number, entryHash: tx.tables.letters.entryHash }).from(tx.tables.letters).orderBy(tx.tables.letters.id));

    beforeAll(async () => {
      office = await startTestGateway();
      const replies = [];
      for (const index of [1, 2, 3]) {
        replies.push(await sendLetter({ port: office.smtpPort, from: `c${index}@citizen.test`, to: ['rh@wasl.local'], message: `From: c${index}@citizen.test\r\nSubject: Lettre ${index}\r\n\r\nBonjour ${index}\r\n` }));
      }
      numbers = replies.map((reply) => NUMBER.exec(reply.data!.text)![0]);
      await office.gateway.outbox.idle();
      hashesBefore = await entryHashes(office);
      configFile = join(office.dataDir, 'wasl.yaml');
      writeFileSync(configFile, stringify(office.config));
    }, 60_000);
    afterAll(async () => {
      await office?.stop();
    });

    it('refuses while the gateway runs on the register, and copies nothing', async () => {
      const url = await postgres().createDatabase();
      const refused = await wasl(['register', 'copy', url]);
      expect(refused).toEqual({
        code: 2,
        stdout: '',
        stderr: `wasl: a gateway (pid ${process.pid}) is running on the data directory ${office.dataDir}: stop it first, or the letters it registers after the copy are left behind; nothing was copied\n`,
      });
      expect((await wasl(['letters', 'list'], { WASL_DATABASE_URL: url })).stderr).toContain(`no register at ${url}`);
    });

    it('copies the stopped office whole: a gateway on the copy verifies the same chain, numbers on without a gap, opens the old receipt links, and copies back into SQLite', { timeout: 90_000 }, async () => {
      await office.stopGateway();
      const url = await postgres().createDatabase();
      const copied = await wasl(['register', 'copy', withPassword(url)]);
      expect(copied.stderr).toBe('');
      expect(copied.code).toBe(0);
      expect(copied.stdout).toContain(`register ${join(office.dataDir, 'wasl.sqlite')} copied to ${url}:\n`);
      expect(copied.stdout).toMatch(/^letters +3$/m);
      expect(copied.stdout).toMatch(/^deliveries +6$/m);
      expect(copied.stdout).toContain(`next: set WASL_DATABASE_URL (or database.url) to ${url}, with its password, on every gateway, and start them, with the signing key (${join(office.dataDir, 'keys')})`);
      expect(copied.stdout).not.toContain('hunter2');

      // The office's gateway on the copy, with its data directory (its signing key and answer secret).
      const moved = await startTestGateway({ config: { database: { url } }, dataDir: office.dataDir });
      try {
        expect(await wasl(['register', 'verify'], { WASL_DATABASE_URL: url })).toEqual({ code: 0, stdout: 'register intact: 3 entries checked\n', stderr: '' });
        const reply = await sendLetter({ port: moved.smtpPort, from: 'c4@citizen.test', to: ['rh@wasl.local'], message: 'From: c4@citizen.test\r\nSubject: Lettre 4\r\n\r\nBonjour 4\r\n' });
        expect(NUMBER.exec(reply.data!.text)![0]).toBe(`${numbers[0]!.slice(0, 4)}-A-000004`);
        await moved.gateway.outbox.idle();
        expect(await wasl(['register', 'verify'], { WASL_DATABASE_URL: url })).toEqual({ code: 0, stdout: 'register intact: 4 entries checked\n', stderr: '' });
        expect((await entryHashes(moved)).slice(0, 3)).toEqual(hashesBefore);

        const old = await moved.gateway.port.findLetter(numbers[0]!);
        const page = await fetch(old!.receiptUrl);
        expect(page.status).toBe(200);
        expect(await page.text()).toContain(numbers[0]!);

        // And back (as the documentation says to move back), here beside the running gateway: a copy is the register at one moment.
        const folder = mkdtempSync(join(tmpdir(), 'wasl-copy-back-'));
        try {
          expect((await wasl(['register', 'copy', join(folder, 'wasl.sqlite')], { WASL_DATABASE_URL: url })).code).toBe(0);
          const verified = await runWasl({ args: ['register', 'verify', '--key', join(office.dataDir, 'keys', 'receipt-signing.pub')], env: { WASL_DATA_DIR: folder } });
          expect(verified).toEqual({ code: 0, stdout: 'register intact: 4 entries checked\n', stderr: '' });
        } finally {
          rmSync(folder, { recursive: true, force: true });
        }

        // The target now holds the office: a second copy into it is refused and changes nothing.
        const again = await wasl(['register', 'copy', url]);
        expect(again).toEqual({ code: 2, stdout: '', stderr: 'wasl: the target register is not empty (its table blobs has rows): copy only into a new, empty register\n' });
        expect((await wasl(['letters', 'list', '--json'], { WASL_DATABASE_URL: url })).stdout).toContain(`${numbers[0]!.slice(0, 4)}-A-000004`);
      } finally {
        await moved.stop();
      }
    });

    it('copies into a new SQLite file, which verifies, and refuses a file that exists', { timeout: 60_000 }, async () => {
      await office.stopGateway();
      const folder = mkdtempSync(join(tmpdir(), 'wasl-copy-'));
      try {
        const file = join(folder, 'wasl.sqlite');
        const copied = await wasl(['register', 'copy', file]);
        expect(copied.code).toBe(0);
        expect(copied.stdout).toContain(`next: make ${file} the register of a data directory`);
        expect(await runWasl({ args: ['register', 'verify', '--key', join(office.dataDir, 'keys', 'receipt-signing.pub')], env: { WASL_DATA_DIR: folder } })).toEqual({
          code: 0,
          stdout: 'register intact: 3 entries checked\n',
          stderr: '',
        });
        expect(await wasl(['register', 'copy', file])).toEqual({ code: 2, stdout: '', stderr: `wasl: ${file} exists: nothing was copied; name a new file, or a postgres:// URL\n` });
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    });
    it('refuses a target that is not a valid postgres:// URL without repeating it (it may hold a password)', async () => {
      await office.stopGateway();
      expect(await wasl(['register', 'copy', 'postgres://wasl:hunter2@'])).toEqual({
        code: 2,
        stdout: '',
        stderr: 'wasl: the target is not a valid postgres:// URL (postgres://user:password@host:port/database; percent-encode @, : and / in the password)\n',
      });
    });
  });

  describe('a database that is not a register the code can read', () => {
    it('one no gateway has started on: "no register at" the URL without its password, exit 1', async () => {
      const url = await postgres().createDatabase();
      const result = await runWasl({ args: ['letters', 'list'], env: { WASL_DATABASE_URL: withPassword(url) } });
      expect(result).toEqual({ code: 1, stdout: '', stderr: `wasl: no register at ${url}: no gateway has started on this database yet (database.url, WASL_DATABASE_URL)\n` });
    });

    it('one older than the code: start the gateway to upgrade it, exit 1', async () => {
      const url = await postgres().createDatabase();
      await (await openPostgresRegister({ url })).close();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query('DELETE FROM drizzle.__drizzle_migrations WHERE created_at = (SELECT max(created_at) FROM drizzle.__drizzle_migrations)');
      await client.end();
      for (const args of [['register', 'verify'], ['deliveries', 'retry']]) {
        const result = await runWasl({ args, env: { WASL_DATABASE_URL: withPassword(url) } });
        expect({ args, ...result }).toEqual({ args, code: 1, stdout: '', stderr: `wasl: the register at ${url} is from an older version; start the gateway once to upgrade it\n` });
      }
    });

    it('a server that refuses the connection: "cannot open the register at" the URL without its password, exit 1', async () => {
      const result = await runWasl({ args: ['letters', 'list'], env: { WASL_DATABASE_URL: 'postgres://wasl:hunter2@127.0.0.1:1/wasl' } });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^wasl: cannot open the register at postgres:\/\/wasl@127\.0\.0\.1:1\/wasl: .+\n$/);
      expect(result.stderr).not.toContain('hunter2');
    });

    it('a server that takes connections but answers nothing: "cannot open the register at", exit 1, after the connect timeout', { timeout: 60_000 }, async () => {
      const url = await postgres().createDatabase();
      await (await openPostgresRegister({ url })).close();
      const frozen = await postgres().freeze();
      try {
        const result = await runWasl({ args: ['letters', 'list'], env: { WASL_DATABASE_URL: withPassword(url) } });
        expect(result.code).toBe(1);
        expect(result.stderr).toMatch(new RegExp(`^wasl: cannot open the register at ${url.replace(/[.]/g, '\\.')}: .+\n$`));
      } finally {
        frozen.thaw();
      }
    });

    it('backup says to use pg_dump', async () => {
      const result = await runWasl({ args: ['backup', join(tmpdir(), 'never-written.sqlite')], env: { WASL_DATABASE_URL: 'postgres://wasl:hunter2@127.0.0.1:1/wasl' } });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain('back it up with pg_dump');
    });
  });
});
