/** The `wasl` command as an operator uses it: start, list, show, and clear failures. */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { openDatabase } from '../../src/db/db.js';
import { deliveries } from '../../src/db/schema.js';
import { runWasl, spawnWasl } from '../helpers/cli.js';
import { startTestGateway, waitFor, type TestGateway, rowsOf } from '../helpers/gateway.js';
import { composeMessage } from '../helpers/messages.js';
import { sendLetter, SmtpSession } from '../helpers/smtp-client.js';
import { stringify } from 'yaml';

describe('wasl with a bad configuration', () => {
  it('stops with exit code 2 and one message naming the key, before opening any socket', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'wasl-cli-'));
    const file = join(directory, 'bad.yaml');
    writeFileSync(file, 'http:\n  port: eighty\nmail:\n  domian: x.test\n');
    const result = await runWasl({ args: ['--config', file, 'start'] });
    rmSync(directory, { recursive: true, force: true });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('invalid configuration');
    expect(result.stderr).toContain('http.port:');
    expect(result.stderr).toContain('mail.domian: unknown key');
  });

  it('names a bad environment override too', async () => {
    const result = await runWasl({ args: ['departments', 'list'], env: { WASL_HTTP_PORT: 'x' } });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('http.port (from WASL_HTTP_PORT)');
  });
});

describe('wasl reading a data directory where the gateway never ran', () => {
  it('says there is no register there and exits 1, for every reading command, and makes no file', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wasl-empty-'));
    const commands = [['letters', 'list'], ['deliveries', 'list', '--failed'], ['mailbox', 'list'], ['register', 'verify']];
    const results = await Promise.all(commands.map((args) => runWasl({ args, env: { WASL_DATA_DIR: dataDir } })));
    for (const [index, result] of results.entries()) {
      expect({ args: commands[index], code: result.code }).toEqual({ args: commands[index], code: 1 });
      expect(result.stderr).toBe(`wasl: no register at ${join(dataDir, 'wasl.sqlite')}: the gateway has not run with this data directory yet (dataDir); check --config and WASL_DATA_DIR\n`);
    }
    expect(readdirSync(dataDir)).toEqual([]);
    rmSync(dataDir, { recursive: true, force: true });
  });
});

describe('wasl reading a register older than the code', () => {
  it('says the register is from an older version and how to upgrade it, exits 1, and changes nothing', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wasl-older-'));
    const file = join(dataDir, 'wasl.sqlite');
    // A register one migration behind the code: made whole, then its newest migration forgotten.
    const made = openDatabase({ file });
    made.$client.exec('DELETE FROM __drizzle_migrations WHERE created_at = (SELECT max(created_at) FROM __drizzle_migrations)');
    const applied = () => made.$client.prepare('SELECT hash, created_at FROM __drizzle_migrations ORDER BY id').all();
    const before = { migrations: applied(), files: readdirSync(dataDir) };
    made.$client.close();

    for (const args of [['letters', 'show', '2026-A-000001'], ['deliveries', 'retry']]) {
      const result = await runWasl({ args, env: { WASL_DATA_DIR: dataDir } });
      expect({ args, code: result.code, stderr: result.stderr }).toEqual({
        args,
        code: 1,
        stderr: `wasl: the register at ${file} is from an older version; start the gateway once to upgrade it\n`,
      });
    }
    const reopened = new Database(file, { readonly: true });
    expect({ migrations: reopened.prepare('SELECT hash, created_at FROM __drizzle_migrations ORDER BY id').all(), files: readdirSync(dataDir) }).toEqual(before);
    reopened.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
});

describe('wasl start', () => {
  it('runs the gateway on the shipped defaults (ports and data directory from the environment), takes a letter, and exits 0 on SIGTERM', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wasl-start-'));
    const child = spawnWasl({ args: ['start'], env: { WASL_DATA_DIR: dataDir, WASL_HTTP_PORT: '0', WASL_SMTP_PORT: '0' } });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    await waitFor(() => /Web (http:\/\/[\d.:]+), SMTP port (\d+)/.test(stderr), { timeoutMs: 20_000, what: 'the start line' });
    const [, web, smtp] = /Web (http:\/\/[\d.:]+), SMTP port (\d+)/.exec(stderr)!;

    expect((await fetch(`${web}/healthz`)).status).toBe(200);
    const reply = await sendLetter({ port: Number(smtp), from: 'x@citizen.test', to: ['rh@wasl.local'], message: 'Subject: Bonjour\r\n\r\nBonjour\r\n' });
    expect(reply.data?.code).toBe(250);
    // The built-in mailbox keeps the forward and the receipt, for /mailbox to show.
    await waitFor(async () => (await (await fetch(`${web}/mailbox`)).text()).includes('Accusé de réception'), { what: 'the receipt in /mailbox' });

    child.kill('SIGTERM');
    const code = await new Promise((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    rmSync(dataDir, { recursive: true, force: true });
  });
});

describe('wasl start on a data directory where a gateway runs', () => {
  /** Starts `wasl start` on the data directory; resolves with the child once it registers, or with its exit. */
  async function startOn(dataDir: string, env: Record<string, string> = {}) {
    const child = spawnWasl({ args: ['start'], env: { WASL_DATA_DIR: dataDir, WASL_HTTP_PORT: '0', WASL_SMTP_PORT: '0', ...env } });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const outcome = await Promise.race([exited.then((code) => ({ code })), waitFor(() => stderr.includes('registering letters'), { timeoutMs: 20_000, what: 'the start line' }).then(() => ({ code: undefined }))]);
    return { child, exited, code: outcome.code, stderr: () => stderr };
  }

  it('refuses a second gateway (exit 2, naming the pid and the directory), and starts again once the first is killed with SIGKILL', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wasl-lock-'));
    const first = await startOn(dataDir);
    expect(first.code).toBeUndefined();

    const second = await startOn(dataDir);
    expect(second.code).toBe(2);
    expect(second.stderr()).toBe(`wasl: another gateway (pid ${first.child.pid}) is running on the data directory ${dataDir}; stop it first, or set database.lockDataDir: false if several gateways are meant to share it\n`);

    first.child.kill('SIGKILL');
    await first.exited;
    const third = await startOn(dataDir);
    expect(third.code).toBeUndefined();
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('given a PostgreSQL register it cannot reach, says where (without the password) and stops, instead of quietly keeping a SQLite one', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wasl-pg-url-'));
    const refused = await startOn(dataDir, { WASL_DATABASE_URL: 'postgres://wasl:hunter2@127.0.0.1:1/wasl' });
    expect(refused.code).toBe(1);
    expect(refused.stderr()).toContain('cannot open the register at postgres://wasl@127.0.0.1:1/wasl');
    expect(refused.stderr()).not.toContain('hunter2');
    expect(existsSync(join(dataDir, 'wasl.sqlite'))).toBe(false);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('lets a second one start when the configuration says so (database.lockDataDir: false)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'wasl-shared-'));
    const configFile = join(dataDir, 'wasl.yaml');
    writeFileSync(configFile, stringify({ dataDir, http: { port: 0 }, database: { lockDataDir: false }, adapters: { email: { smtp: { port: 0 } } } }));
    const runs = [await startOn(dataDir, { WASL_CONFIG: configFile }), await startOn(dataDir, { WASL_CONFIG: configFile })];
    expect(runs.map((run) => run.code)).toEqual([undefined, undefined]);
    for (const run of runs) run.child.kill('SIGTERM');
    expect(await Promise.all(runs.map((run) => run.exited))).toEqual([0, 0]);
    rmSync(dataDir, { recursive: true, force: true });
  });
});

describe('wasl backup', () => {
  it('copies the register while letters arrive: the copy verifies, holds every letter answered 250 before it began, and is 0600', { timeout: 60_000 }, async () => {
    const test = await startTestGateway({ relay: false });
    const configFile = join(test.dataDir, 'wasl.yaml');
    writeFileSync(configFile, stringify(test.config));
    const copyDir = mkdtempSync(join(tmpdir(), 'wasl-backup-'));
    const copy = join(copyDir, 'wasl.sqlite');

    // Four senders, each sending letter after letter until the backup is done.
    const registered: string[] = [];
    let sending = true;
    const senders = [1, 2, 3, 4].map(async (sender) => {
      for (let count = 1; sending; count++) {
        const reply = await sendLetter({ port: test.smtpPort, from: `s${sender}@citizen.test`, to: ['rh@wasl.local'], message: `Subject: Lettre ${sender}-${count}\r\n\r\nBonjour\r\n` });
        if (reply.data?.code === 250) registered.push(/\d{4}-A-\d{6}/.exec(reply.data.text)![0]);
      }
    });
    await waitFor(() => registered.length >= 8, { what: 'letters registered before the backup' });
    const before = [...registered];
    const result = await runWasl({ args: ['--config', configFile, 'backup', copy] });
    sending = false;
    await Promise.all(senders);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^register ${test.dataDir}/wasl.sqlite copied to ${copy}: \\d+ letters, \\d+ bytes, quick_check ok, mode 0600\n`));
    expect(result.stdout).toContain('not in it: the signing key');
    expect(statSync(copy).mode & 0o777).toBe(0o600);
    expect(readdirSync(copyDir)).toEqual(['wasl.sqlite']);
    const copied = new Database(copy, { readonly: true });
    const numbers = new Set((copied.prepare('SELECT number FROM letters').all() as { number: string }[]).map((row) => row.number));
    copied.close();
    expect(before.filter((number) => !numbers.has(number))).toEqual([]);
    expect(numbers.size).toBeGreaterThanOrEqual(before.length);

    const verified = await runWasl({ args: ['register', 'verify', '--key', join(test.dataDir, 'keys', 'receipt-signing.pub')], env: { WASL_DATA_DIR: copyDir } });
    expect(verified.stdout).toBe(`register intact: ${numbers.size} entries checked\n`);
    expect(verified.code).toBe(0);
    await test.stop();
    rmSync(copyDir, { recursive: true, force: true });
  });

  it('refuses to replace a file without --force, and the register itself whatever is given', async () => {
    const test = await startTestGateway({ relay: false });
    const configFile = join(test.dataDir, 'wasl.yaml');
    writeFileSync(configFile, stringify(test.config));
    const copyDir = mkdtempSync(join(tmpdir(), 'wasl-backup-'));
    const target = join(copyDir, 'copy.sqlite');
    writeFileSync(target, 'an older copy');

    const refused = await runWasl({ args: ['--config', configFile, 'backup', target] });
    expect({ code: refused.code, stderr: refused.stderr }).toEqual({ code: 2, stderr: `wasl: ${target} exists: nothing was written; give --force to replace it, or name another file\n` });
    expect(readFileSync(target, 'utf8')).toBe('an older copy');

    const forced = await runWasl({ args: ['--config', configFile, 'backup', '--force', target] });
    expect(forced.code).toBe(0);
    expect(readFileSync(target).subarray(0, 15).toString()).toBe('SQLite format 3');

    const register = join(test.dataDir, 'wasl.sqlite');
    const itself = await runWasl({ args: ['--config', configFile, 'backup', '--force', register] });
    expect({ code: itself.code, stderr: itself.stderr }).toEqual({ code: 2, stderr: `wasl: ${register} is the register itself (or its journal): name another file for the copy\n` });
    await test.stop();
    rmSync(copyDir, { recursive: true, force: true });
  });
});

describe('wasl start on a port already taken', () => {
  it('says which address is in use and how to choose another, and exits 1', async () => {
    const taken = await startTestGateway();
    const port = new URL(taken.httpUrl).port;
    const dataDir = mkdtempSync(join(tmpdir(), 'wasl-busy-'));
    const result = await runWasl({ args: ['start'], env: { WASL_DATA_DIR: dataDir, WASL_HTTP_PORT: port, WASL_SMTP_PORT: '0' } });
    await taken.stop();
    rmSync(dataDir, { recursive: true, force: true });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`wasl: cannot start: 127.0.0.1:${port} is already in use`);
  });
});

describe('wasl letters show, for a letter that reused another\'s Message-ID', () => {
  it('names the earlier letter in its history', async () => {
    const test = await startTestGateway();
    const send = async (text: string) => {
      const message = await composeMessage({ from: 'reuse@citizen.test', to: 'rh@wasl.local', subject: 'Demande', text, messageId: '<one-id@citizen.test>' });
      const reply = await sendLetter({ port: test.smtpPort, from: 'reuse@citizen.test', to: ['rh@wasl.local'], message });
      return /\d{4}-A-\d{6}/.exec(reply.data!.text)![0];
    };
    const [first, second] = [await send('Premier'), await send('Second')];
    await test.gateway.outbox.idle();
    const configFile = join(test.dataDir, 'wasl.yaml');
    writeFileSync(configFile, stringify(test.config));
    const result = await runWasl({ args: ['--config', configFile, 'letters', 'show', second] });
    await test.stop();
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`message_id_reused\\s+earlier: ${first}\\n`));
  });
});

describe('wasl letters and departments', () => {
  let test: TestGateway;
  let number: string;
  let configFile: string;

  beforeAll(async () => {
    test = await startTestGateway();
    const message = await composeMessage({ from: 'Nadia <nadia@citizen.test>', to: 'rh@wasl.local', subject: 'Attestation', text: 'x', attachments: [{ filename: 'a.txt', content: 'abc' }] });
    const reply = await sendLetter({ port: test.smtpPort, from: 'nadia@citizen.test', to: ['rh@wasl.local'], message });
    number = /\d{4}-A-\d{6}/.exec(reply.data!.text)![0];
    await test.gateway.outbox.idle();
    configFile = join(test.dataDir, 'wasl.yaml');
    writeFileSync(configFile, stringify({ ...test.config, publicUrl: 'https://courrier.example.gov' }));
  });
  afterAll(async () => {
    await test.stop();
  });

  it('letters list --json gives the register for scripts', async () => {
    const result = await runWasl({ args: ['--config', configFile, 'letters', 'list', '--json'] });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual([expect.objectContaining({ number, subject: 'Attestation', departments: ['RH'], status: 'forwarded' })]);
  });

  it('letters show gives the facts, attachments, history and deliveries of one letter', async () => {
    const text = await runWasl({ args: ['--config', configFile, 'letters', 'show', number] });
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`Number:      ${number}`);
    expect(text.stdout).toContain('Receipt:     https://courrier.example.gov/r/');
    expect(text.stdout).toMatch(/a\.txt\s+text\/plain/);
    const json = JSON.parse((await runWasl({ args: ['--config', configFile, 'letters', 'show', number, '--json'] })).stdout);
    expect(json.history.map((event: { type: string }) => event.type)).toEqual(expect.arrayContaining(['registered', 'forwarded', 'receipt_sent']));
    expect(json.deliveries.map((delivery: { kind: string; status: string }) => `${delivery.kind}:${delivery.status}`)).toEqual(['forward:sent', 'receipt:sent']);
  });

  it('letters show of an unknown number says so and exits 1', async () => {
    const result = await runWasl({ args: ['--config', configFile, 'letters', 'show', '1999-A-000001'] });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no letter has the number 1999-A-000001');
  });

  it('departments list --json gives codes, names, addresses and channels', async () => {
    const result = await runWasl({ args: ['--config', configFile, 'departments', 'list', '--json'] });
    expect(JSON.parse(result.stdout).map((department: { code: string }) => department.code)).toEqual(['BO', 'RH', 'URB']);
  });

  it('finds the register from any working directory: a relative dataDir is relative to the configuration file', async () => {
    const folder = join(test.dataDir, 'etc');
    mkdirSync(folder);
    const relativeConfig = join(folder, 'wasl.yaml');
    writeFileSync(relativeConfig, stringify({ ...test.config, dataDir: '..' }));
    const result = await runWasl({ args: ['--config', relativeConfig, 'letters', 'list', '--json'], cwd: tmpdir() });
    expect(result.stderr).toBe('');
    expect(JSON.parse(result.stdout)).toEqual([expect.objectContaining({ number })]);
  });
});

describe('wasl given bad input answers one line, exit 2 for a bad argument and 1 for what is not there, and changes nothing', () => {
  let test: TestGateway;
  let configFile: string;
  let sentDeliveryId: number;
  const wasl = (...args: string[]) => runWasl({ args: ['--config', configFile, ...args] });

  beforeAll(async () => {
    test = await startTestGateway();
    await sendLetter({ port: test.smtpPort, from: 'nadia@citizen.test', to: ['rh@wasl.local'], message: 'Subject: Attestation\r\n\r\nBonjour\r\n' });
    await test.gateway.outbox.idle();
    sentDeliveryId = (await rowsOf(test.gateway, deliveries))[0]!.id;
    configFile = join(test.dataDir, 'wasl.yaml');
    writeFileSync(configFile, stringify(test.config));
  });
  afterAll(async () => {
    await test.stop();
  });

  it('a count that is not a whole number from 1 on', async () => {
    const results = await Promise.all([wasl('letters', 'list', '--limit', 'abc'), wasl('deliveries', 'list', '--limit', '0')]);
    expect(results).toEqual([
      { code: 2, stdout: '', stderr: "wasl: option '--limit <n>' argument 'abc' is invalid. Expected a whole number, 1 or more.\n" },
      { code: 2, stdout: '', stderr: "wasl: option '--limit <n>' argument '0' is invalid. Expected a whole number, 1 or more.\n" },
    ]);
  });

  it('a department that does not exist, naming those that do', async () => {
    expect(await wasl('letters', 'list', '--department', 'XX')).toEqual({ code: 2, stdout: '', stderr: 'wasl: no department has the code XX; departments: BO, RH, URB\n' });
    // A department that exists but has no letter is an empty list, not an error.
    expect(await wasl('letters', 'list', '--department', 'urb')).toEqual({ code: 0, stdout: '(none)\n', stderr: '' });
  });

  it('a delivery to queue again that does not exist or has not failed: nothing is queued', async () => {
    const [missing, notFailed, notAnId] = await Promise.all([wasl('deliveries', 'retry', '999'), wasl('deliveries', 'retry', String(sentDeliveryId)), wasl('deliveries', 'retry', 'abc')]);
    expect(missing).toEqual({ code: 1, stdout: '', stderr: 'wasl: no delivery has the id 999; nothing was queued again\n' });
    expect(notFailed).toEqual({ code: 1, stdout: '', stderr: `wasl: delivery ${sentDeliveryId} is sent, not failed: only failed deliveries are queued again; nothing was queued again\n` });
    expect(notAnId).toMatchObject({ code: 2, stdout: '', stderr: "wasl: command-argument value 'abc' is invalid for argument 'ids'. Expected a whole number, 1 or more.\n" });
    expect((await rowsOf(test.gateway, deliveries)).map((delivery) => delivery.status)).toEqual(['sent', 'sent']);
  });

  it('a file to check that is not there', async () => {
    const missing = join(test.dataDir, 'no-such-receipt.json');
    const [receipt, key] = await Promise.all([wasl('verify', missing), wasl('register', 'verify', '--key', missing)]);
    expect(receipt).toEqual({ code: 1, stdout: '', stderr: `wasl: cannot read the receipt ${missing}: no such file\n` });
    expect(key).toEqual({ code: 1, stdout: '', stderr: `wasl: cannot read the public key ${missing}: no such file\n` });
  });

  it('a mailbox message id that is not a number, and one that is not there', async () => {
    const [notAnId, missing] = await Promise.all([wasl('mailbox', 'show', 'x'), wasl('mailbox', 'show', '999')]);
    expect(notAnId).toEqual({ code: 2, stdout: '', stderr: "wasl: command-argument value 'x' is invalid for argument 'id'. Expected a whole number, 1 or more.\n" });
    expect(missing).toEqual({ code: 1, stdout: '', stderr: 'wasl: no message 999 in the mailbox\n' });
  });
});

describe('SMTP greeting', () => {
  it('does not look the client up in DNS by default and advertises 8BITMIME and SMTPUTF8', async () => {
    const test = await startTestGateway();
    const { session } = await SmtpSession.open(test.smtpPort);
    const ehlo = await session.command('EHLO client.test');
    await session.quit();
    await test.stop();
    expect(ehlo.text).toContain('8BITMIME');
    expect(ehlo.text).toContain('SMTPUTF8');
    expect(test.config.adapters.email).toMatchObject({ smtp: { reverseLookup: false } });
  });
});

describe('wasl config show', () => {
  it('prints the effective configuration with secrets masked, also a password inside the relay URL', async () => {
    const result = await runWasl({ args: ['config', 'show'], env: { WASL_OUTBOUND_SMTP_URL: 'smtp://clerk:s3cret@relay.example.gov:587', WASL_SLACK_BOT_TOKEN: 'xoxb-not-shown', WASL_SLACK_SIGNING_SECRET: 'not-shown-either' } });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('"url": "smtp://clerk:***@relay.example.gov:587"');
    expect(result.stdout).not.toContain('s3cret');
    expect(result.stdout).not.toContain('xoxb-not-shown');
    expect(result.stdout).not.toContain('not-shown-either');
  });
});
