/**
 * The `wasl` command. `start` runs the gateway; the other commands read the register directly
 * (SQLite allows it beside a running gateway), each with `--json` for scripts.
 * Exit codes: 0 done, 1 a check failed or nothing found, 2 bad configuration or usage.
 */
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve, join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { adapterDefinitions } from '../channels/registry.js';
import { ConfigError, loadConfig, type WaslConfig } from '../config/config.load.js';
import { maskSecrets } from '../config/secrets.js';
import { isWaslError, WaslError } from '../errors.js';
import { openDatabase } from '../db/db.js';
import { createGateway } from '../gateway.js';
import * as letterRepository from '../letters/letters.repository.js';
import { createRegisterReader } from '../letters/letters.reader.js';
import { defaultSigningKeyPaths, describePublicKey, loadOrCreateSigningKey, signingKeyFromPem } from '../evidence/signing-key.js';
import { verifyReceipt } from '../evidence/verify.js';
import { verifyRegister } from '../receipts/register-verify.js';
import { listMessages, messageById } from '../mailbox/mailbox.repository.js';
import { listDeliveries, requeueFailed } from '../outbox/outbox.repository.js';
import { printTable } from './output.js';

const program = new Command()
  .name('wasl')
  .description("wasl, the digital mail office: letters by email and chat, registered, forwarded and receipted")
  .option('-c, --config <file>', 'configuration file (default: $WASL_CONFIG, else config/default.yaml)')
  .showHelpAfterError()
  .exitOverride();

function config(): WaslConfig & { source: string } {
  return loadConfig({ file: program.opts<{ config?: string }>().config, adapters: adapterDefinitions });
}

/**
 * The register without the gateway around it, for commands that only read or re-queue: it needs
 * no signing key and no answer secret, so these commands never make one.
 */
function openRegister(settings: WaslConfig = config()) {
  const file = join(resolve(settings.dataDir), 'wasl.sqlite');
  // Nor a register: on a mistyped dataDir, an empty one made here would answer "no letters".
  if (!existsSync(file)) {
    throw new WaslError('register.missing', `no register at ${file}: the gateway has not run with this data directory yet (dataDir); check --config and WASL_DATA_DIR`);
  }
  const db = openDatabase({ file, busyTimeoutMs: settings.database.busyTimeoutMs });
  const publicUrl = () => (settings.publicUrl ?? `http://${settings.http.host}:${settings.http.port}`).replace(/\/$/, '');
  return { settings, db, register: createRegisterReader({ db, publicUrl }) };
}

/** This gateway's public key, read only: verifying must never make a key. */
function ownPublicKeyPem(settings: WaslConfig = config()): string {
  if (settings.receipts.signingKeyPath) return signingKeyFromPem(readFileSync(settings.receipts.signingKeyPath, 'utf8')).publicKeyPem;
  const { publicKeyPath } = defaultSigningKeyPaths(resolve(settings.dataDir));
  if (!existsSync(publicKeyPath)) throw new WaslError('evidence.no_key', `no public key at ${publicKeyPath}: give the office's public key with --key FILE`);
  return readFileSync(publicKeyPath, 'utf8');
}

const json = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

program
  .command('start')
  .description('run the gateway (SMTP, web, chat adapters, outbox) until SIGTERM or SIGINT')
  .action(async () => {
    const settings = config();
    const gateway = createGateway({ config: settings });
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`wasl: ${signal} received, stopping intake and draining deliveries\n`);
      await gateway.stop();
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
    try {
      await gateway.start();
    } catch (error) {
      const failure = error as NodeJS.ErrnoException & { address?: string; port?: number };
      const reason =
        failure.code === 'EADDRINUSE'
          ? `${failure.address}:${failure.port} is already in use (another wasl running? set http.port / WASL_HTTP_PORT or adapters.email.smtp.port / WASL_SMTP_PORT)`
          : failure.code === 'EACCES'
            ? `no permission to listen on ${failure.address}:${failure.port}`
            : failure.message;
      process.stderr.write(`wasl: cannot start: ${reason}\n`);
      await gateway.stop().catch(() => undefined);
      process.exit(1);
    }
    const smtpPort = gateway.adapters.get('email')?.listeningPort;
    process.stderr.write(`wasl: registering letters. Web ${gateway.httpUrl}${smtpPort ? `, SMTP port ${smtpPort}` : ''}; config ${settings.source}\n`);
  });

const letters = program.command('letters').description('the register');
letters
  .command('list')
  .description('letters, newest first')
  .option('--department <code>', 'only letters of this department')
  .option('--open', 'only letters not yet answered or closed')
  .option('--limit <n>', 'how many', '50')
  .option('--json', 'machine-readable output')
  .action((options: { department?: string; open?: boolean; limit: string; json?: boolean }) => {
    const { register } = openRegister();
    const rows = register.listLetters({ department: options.department, open: options.open, limit: Number(options.limit) });
    if (options.json) return json(rows);
    printTable(
      ['NUMBER', 'REGISTERED', 'CHANNEL', 'SENDER', 'DEPARTMENTS', 'STATUS', 'SUBJECT'],
      rows.map((row) => [row.number, row.registeredAt.toISOString(), row.channel, row.sender.id, row.departments.join(','), row.status, row.subject ?? '']),
    );
  });

letters
  .command('show <number>')
  .description('one letter: its facts, attachments, history and deliveries')
  .option('--json', 'machine-readable output')
  .action((number: string, options: { json?: boolean }) => {
    const { db, register } = openRegister();
    const row = letterRepository.letterByNumber(db, number);
    if (!row) {
      process.stderr.write(`wasl: no letter has the number ${number}\n`);
      process.exitCode = 1;
      return;
    }
    const detail = {
      ...register.summary(row),
      original: { sha256: row.originalSha256, size: row.originalSize },
      attachments: letterRepository.attachmentsOf(db, row.id).map(({ filename, contentType, size, sha256 }) => ({ filename, contentType, size, sha256 })),
      history: letterRepository.eventsOf(db, row.id).map(({ type, at, departmentCode, actorId, detail: facts }) => ({ type, at, department: departmentCode, actor: actorId, detail: facts ? JSON.parse(facts) : null })),
      deliveries: letterRepository.deliveriesOf(db, row.id).map(({ id, kind, channel, targetId, status, attempts, lastError }) => ({ id, kind, channel, to: targetId, status, attempts, lastError })),
    };
    if (options.json) return json(detail);
    const lines = [
      `Number:      ${detail.number}`,
      `Registered:  ${detail.registeredAt.toISOString()}`,
      `Channel:     ${detail.channel}`,
      `Sender:      ${detail.sender.displayName ? `${detail.sender.displayName} <${detail.sender.id}>` : detail.sender.id}`,
      `Subject:     ${detail.subject ?? ''}`,
      `Departments: ${detail.departments.join(', ')}`,
      `Status:      ${detail.status}`,
      `SHA-256:     ${detail.original.sha256} (${detail.original.size} bytes)`,
      `Receipt:     ${detail.receiptUrl}`,
      ...(detail.answers ? [`Answers:     ${detail.answers}`] : []),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (detail.attachments.length > 0) {
      process.stdout.write('\nAttachments:\n');
      printTable(['NAME', 'TYPE', 'SIZE', 'SHA-256'], detail.attachments.map((a) => [a.filename ?? '', a.contentType, String(a.size), a.sha256]));
    }
    process.stdout.write('\nHistory:\n');
    printTable(['AT', 'EVENT', 'DEPARTMENT', 'DETAIL'], detail.history.map((event) => [event.at.toISOString(), event.type, event.department ?? '', factsLine(event.detail)]));
    process.stdout.write('\nDeliveries:\n');
    printTable(['ID', 'KIND', 'CHANNEL', 'TO', 'STATUS', 'ATTEMPTS', 'LAST ERROR'], detail.deliveries.map((d) => [String(d.id), d.kind, d.channel, d.to, d.status, String(d.attempts), d.lastError ?? '']));
  });

/** An event's facts on one line, as `earlier: 2026-A-000004; code: smtp.rejected`. */
function factsLine(facts: Record<string, unknown> | null): string {
  if (!facts) return '';
  return Object.entries(facts)
    .map(([name, value]) => `${name}: ${Array.isArray(value) ? value.join(', ') : typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value)}`)
    .join('; ');
}

program
  .command('departments')
  .description('departments')
  .command('list')
  .description('the configured departments, their addresses and channels')
  .option('--json', 'machine-readable output')
  .action((options: { json?: boolean }) => {
    const settings = config();
    if (options.json) return json(settings.departments);
    printTable(
      ['CODE', 'NAME (fr)', 'ADDRESSES', 'CHANNELS'],
      settings.departments.map((department) => [
        department.code,
        department.names.fr,
        department.addresses.join(', '),
        Object.entries(department.channels)
          .map(([channel, targets]) => `${channel}: ${targets.join(', ')}`)
          .join('; '),
      ]),
    );
  });

const deliveries = program.command('deliveries').description('the outbox: forwards, receipts and answers owed');
deliveries
  .command('list')
  .description('deliveries, newest first')
  .option('--failed', 'only those that failed and wait for the mail office')
  .option('--pending', 'only those still queued')
  .option('--limit <n>', 'how many', '100')
  .option('--json', 'machine-readable output')
  .action((options: { failed?: boolean; pending?: boolean; limit: string; json?: boolean }) => {
    const { db } = openRegister();
    const statuses = options.failed ? (['failed'] as const) : options.pending ? (['pending', 'sending'] as const) : undefined;
    const rows = listDeliveries(db, { statuses: statuses ? [...statuses] : undefined, limit: Number(options.limit) });
    if (options.json) return json(rows);
    printTable(
      ['ID', 'LETTER', 'KIND', 'CHANNEL', 'TO', 'STATUS', 'ATTEMPTS', 'NEXT ATTEMPT', 'LAST ERROR'],
      rows.map((row) => [String(row.id), row.number, row.kind, row.channel, row.targetId, row.status, String(row.attempts), row.nextAttemptAt.toISOString(), row.lastError ?? '']),
    );
  });
deliveries
  .command('retry [ids...]')
  .description('queue failed deliveries again (all of them when no id is given)')
  .action((ids: string[]) => {
    const { db } = openRegister();
    const count = requeueFailed(db, { ids: ids.length > 0 ? ids.map(Number) : undefined, at: new Date() });
    process.stdout.write(`${count} deliver${count === 1 ? 'y' : 'ies'} queued again\n`);
  });

const mailbox = program.command('mailbox').description('the built-in mailbox (outgoing mail kept when no relay is configured)');
mailbox
  .command('list')
  .option('--json', 'machine-readable output')
  .action((options: { json?: boolean }) => {
    const { db } = openRegister();
    const rows = listMessages(db, 200);
    if (options.json) return json(rows);
    printTable(['ID', 'KEPT', 'TO', 'SUBJECT'], rows.map((row) => [String(row.id), row.storedAt.toISOString(), row.recipients, row.subject]));
  });
mailbox
  .command('show <id>')
  .description('print one message as it would have been sent')
  .action((id: string) => {
    const { db } = openRegister();
    const message = messageById(db, Number(id));
    if (!message) {
      process.stderr.write(`wasl: no message ${id} in the mailbox\n`);
      process.exitCode = 1;
      return;
    }
    process.stdout.write(message.raw);
  });

const key = program.command('key').description("the office's receipt-signing key");
key
  .command('show')
  .description('the public key that verifies receipts (PEM) and its fingerprint')
  .option('--json', 'machine-readable output')
  .action((options: { json?: boolean }) => {
    const settings = config();
    const signing = loadOrCreateSigningKey({ dataDir: resolve(settings.dataDir), privateKeyPath: settings.receipts.signingKeyPath });
    const description = describePublicKey(signing.publicKey);
    if (options.json) return json(description);
    process.stdout.write(`Algorithm: ${description.algorithm}\nKey id (SHA-256 of the raw public key): ${description.keyId}\n\n${description.publicKeyPem}`);
  });

program
  .command('verify <file>')
  .description('check a receipt (its JSON or its PDF) offline against the public key, and optionally the original letter')
  .option('--letter <file>', 'the original letter (or an attachment) whose SHA-256 the receipt must name')
  .option('--key <file>', "the office's public key (PEM); default: this gateway's own key")
  .option('--json', 'machine-readable output')
  .action((file: string, options: { letter?: string; key?: string; json?: boolean }) => {
    const publicKeyPem = options.key ? readFileSync(options.key, 'utf8') : ownPublicKeyPem();
    const verdict = verifyReceipt({ receipt: readFileSync(file), publicKeyPem, letterBytes: options.letter ? readFileSync(options.letter) : undefined });
    if (options.json) json({ ok: verdict.ok, format: verdict.format, number: verdict.statement?.number ?? null, checks: verdict.checks });
    else {
      for (const check of verdict.checks) process.stdout.write(`${check.passed ? 'ok  ' : 'FAIL'}  ${check.name}: ${check.detail}\n`);
      process.stdout.write(verdict.ok ? `receipt ${verdict.statement?.number ?? ''} verifies\n` : 'the receipt does NOT verify\n');
    }
    if (!verdict.ok) process.exitCode = 1;
  });

program
  .command('register')
  .description('the register as a whole')
  .command('verify')
  .description("walk the register's hash chain; report the first entry altered, removed or reordered (exit 1)")
  .option('--key <file>', "the office's public key (PEM); default: this gateway's own key")
  .option('--json', 'machine-readable output')
  .action((options: { key?: string; json?: boolean }) => {
    const settings = config();
    const { db } = openRegister(settings);
    const publicKeyPem = options.key ? readFileSync(options.key, 'utf8') : ownPublicKeyPem(settings);
    const report = verifyRegister({ db, publicKey: createPublicKey(publicKeyPem) });
    if (options.json) json(report);
    else if (report.ok) process.stdout.write(`register intact: ${report.checked} entries checked\n`);
    else {
      process.stdout.write(`register NOT intact: ${report.problems.length} problem(s) among ${report.checked} entries; the first:\n  ${report.problems[0]!.message}\n`);
      for (const problem of report.problems.slice(1)) process.stdout.write(`  then: ${problem.message}\n`);
    }
    if (!report.ok) process.exitCode = 1;
  });

program
  .command('config')
  .description('configuration')
  .command('show')
  .description('the effective configuration (file + environment), secrets masked')
  .action(() => {
    const { source, ...settings } = config();
    process.stdout.write(`# from ${source}\n${JSON.stringify(maskSecrets(settings), null, 2)}\n`);
  });

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof ConfigError) {
    process.stderr.write(`wasl: ${error.message}\n`);
    process.exit(2);
  }
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  if (isWaslError(error)) {
    process.stderr.write(`wasl: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
