/**
 * The `wasl` command. `start` runs the gateway; the other commands read the register directly
 * (SQLite allows it beside a running gateway, PostgreSQL beside all of them), each with `--json` for scripts.
 * Exit codes: 0 done, 1 a check failed or nothing found, 2 bad configuration or usage.
 *
 * Each command loads what it needs as it runs (`await import`): the gateway's libraries (Slack,
 * Matrix, mail parsing, PDF) take over a second to load, which `--help` or `letters show` must not pay.
 */
import { createPublicKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import type { WaslConfig } from '../config/config.load.js';
import { isWaslError, WaslError } from '../errors.js';
import type { RegisterTx } from '../db/register-tx.js';
import { describeGrant, ROLES, type Grant, type Identity, type Role } from '../people/people.models.js';
import { printTable } from './output.js';

/**
 * Error codes answered with exit 2: the command was not given what it needs, or (data.locked) must
 * not run as given; a service manager does not restart on them (config/wasl.service).
 */
const USAGE_ERRORS = new Set([
  'config.invalid',
  'cli.usage',
  'data.locked',
  'backup.target_exists',
  'backup.target_is_register',
  'copy.target_exists',
  'copy.target_not_empty',
  'person.handle_invalid',
  'person.handle_taken',
  'person.identity_invalid',
  'person.identity_taken',
  'person.department_needed',
  'person.department_unknown',
  'person.department_not_taken',
]);

const program = new Command()
  .name('wasl')
  .description("wasl, the digital mail office: letters by email and chat, registered, forwarded and receipted")
  .option('-c, --config <file>', 'configuration file (default: $WASL_CONFIG, else config/default.yaml)')
  // One line, as the command's own errors: "wasl: unknown command 'lettres'".
  .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'wasl: ')) })
  .exitOverride();

const configFile = () => program.opts<{ config?: string }>().config;

/** The whole configuration, every adapter's section checked: to run the gateway or show its settings. */
async function fullConfig(): Promise<WaslConfig & { source: string }> {
  const [{ loadConfig }, { adapterDefinitions }] = await Promise.all([import('../config/config.load.js'), import('../channels/registry.js')]);
  return loadConfig({ file: configFile(), adapters: adapterDefinitions });
}

/** The core's settings (data directory, departments, keys, links): all that reading the register needs. */
async function coreConfig(): Promise<WaslConfig> {
  const { loadConfig } = await import('../config/config.load.js');
  return loadConfig({ file: configFile(), adapters: 'unchecked' });
}

/** A count or an id typed on the command line. */
function wholeNumber(text: string): number {
  if (!/^[1-9]\d{0,8}$/.test(text)) throw new InvalidArgumentError('Expected a whole number, 1 or more.');
  return Number(text);
}

/** A file named on the command line: a missing or unreadable one is one line and exit 1, not a stack trace. */
function readNamedFile(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new WaslError('cli.unreadable_file', `cannot read ${what} ${file}: ${reason}`);
  }
}

/** The registers this command opened, closed as it ends: a PostgreSQL register's connections would keep the process running. */
const openedRegisters: { close(): Promise<void> }[] = [];

/**
 * The register without the gateway around it, for commands that only read or re-queue: it needs
 * no signing key and no answer secret, so these commands never make one. Nor do they migrate it:
 * the gateway does, as it starts.
 */
async function openRegister(given?: WaslConfig) {
  const settings = given ?? (await coreConfig());
  const [{ openExistingRegister }, { createRegisterReader }] = await Promise.all([import('../db/open-register.js'), import('../letters/letters.reader.js')]);
  const database = await openExistingRegister(settings);
  openedRegisters.push(database);
  const publicUrl = () => (settings.publicUrl ?? `http://${settings.http.host}:${settings.http.port}`).replace(/\/$/, '');
  return { settings, database, register: createRegisterReader({ database, publicUrl }) };
}

/** This gateway's public key, read only: verifying must never make a key. */
async function ownPublicKeyPem(settings: WaslConfig): Promise<string> {
  const { defaultSigningKeyPaths, signingKeyFromPem } = await import('../evidence/signing-key.js');
  if (settings.receipts.signingKeyPath) return signingKeyFromPem(readNamedFile(settings.receipts.signingKeyPath, 'the signing key (receipts.signingKeyPath)').toString('utf8')).publicKeyPem;
  const { publicKeyPath } = defaultSigningKeyPaths(settings.dataDir);
  if (!existsSync(publicKeyPath)) throw new WaslError('evidence.no_key', `no public key at ${publicKeyPath}: give the office's public key with --key FILE`);
  return readFileSync(publicKeyPath, 'utf8');
}

/** What a copy of the register does not hold and an office must keep: where this configuration has them. */
function keysAndSecret(settings: WaslConfig): string {
  return `the signing key (${settings.receipts.signingKeyPath ?? join(settings.dataDir, 'keys')}) and the answer secret (${join(settings.dataDir, 'secret.key')} or WASL_SECRET)`;
}

const json = (value: unknown): void => {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
};

/** `--workers`: a whole number, or `auto` for one per core. */
function workersOption(text: string): number | 'auto' {
  return text === 'auto' ? 'auto' : wholeNumber(text);
}

program
  .command('start')
  .description('run the gateway (SMTP, web, chat adapters, outbox) until SIGTERM or SIGINT')
  .option('--workers <n>', 'gateway processes sharing the ports, or auto for one per core (config workers; more than one needs PostgreSQL)', workersOption)
  .action(async (options: { workers?: number | 'auto' }) => {
    const settings = await fullConfig();
    const { gatewayProcesses, reportStarted, runPrimary, workerNumber } = await import('./workers.js');
    const count = gatewayProcesses({ setting: options.workers ?? settings.workers, fromCommandLine: options.workers !== undefined, config: settings });
    const worker = workerNumber();
    if (count > 1 && worker === undefined) return runPrimary({ count, configSource: settings.source });
    const [{ createGateway }, { createLogger }] = await Promise.all([import('../gateway.js'), import('../logger.js')]);
    const me = worker === undefined ? 'wasl' : `wasl: worker ${worker}`;
    const gateway = await createGateway({
      config: settings,
      ...(worker === undefined ? {} : { logger: createLogger(settings.log.level).child({ worker }), metricsAcrossWorkers: true }),
    });
    let stopping = false;
    const stop = async (reason: string) => {
      if (stopping) return;
      stopping = true;
      process.stderr.write(`${me}: ${reason}, stopping intake and draining deliveries\n`);
      await gateway.stop();
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM received'));
    process.on('SIGINT', () => void stop('SIGINT received'));
    // A worker whose primary is gone (killed) stops too: nothing would restart or stop it any more.
    if (worker !== undefined) process.on('disconnect', () => void stop('the primary process ended'));
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
      process.stderr.write(`${me}: cannot start: ${reason}\n`);
      await gateway.stop().catch(() => undefined);
      process.exit(1);
    }
    const smtpPort = gateway.adapters.get('email')?.listeningPort;
    if (worker !== undefined) return reportStarted({ httpUrl: gateway.httpUrl, smtpPort });
    process.stderr.write(`wasl: registering letters. Web ${gateway.httpUrl}${smtpPort ? `, SMTP port ${smtpPort}` : ''}; config ${settings.source}\n`);
  });

const letters = program.command('letters').description('the register');
letters
  .command('list')
  .description('letters, newest first')
  .option('--department <code>', 'only letters of this department')
  .option('--open', 'only letters not yet answered or closed')
  .option('--limit <n>', 'how many', wholeNumber, 50)
  .option('--json', 'machine-readable output')
  .action(async (options: { department?: string; open?: boolean; limit: number; json?: boolean }) => {
    const { settings, register } = await openRegister();
    const rows = await register.listLetters({ department: options.department, open: options.open, limit: options.limit });
    // A mistyped code would list "(none)"; a department since removed from the configuration still lists its letters.
    const department = options.department?.toUpperCase();
    if (department && rows.length === 0 && !settings.departments.some((known) => known.code === department)) {
      throw new WaslError('cli.usage', `no department has the code ${options.department}; departments: ${settings.departments.map((known) => known.code).join(', ')}`);
    }
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
  .action(async (number: string, options: { json?: boolean }) => {
    const { database, register } = await openRegister();
    const letterRepository = await import('../letters/letters.repository.js');
    const detail = await database.read(async (tx) => {
      const row = await letterRepository.letterByNumber(tx, number);
      if (!row) return undefined;
      return {
        ...(await register.summary(tx, row)),
        original: { sha256: row.originalSha256, size: row.originalSize },
        attachments: (await letterRepository.attachmentsOf(tx, row.id)).map(({ filename, contentType, size, sha256 }) => ({ filename, contentType, size, sha256 })),
        history: (await letterRepository.eventsOf(tx, row.id)).map(({ type, at, departmentCode, actorId, detail: facts }) => ({ type, at, department: departmentCode, actor: actorId, detail: facts ? (JSON.parse(facts) as Record<string, unknown>) : null })),
        deliveries: (await letterRepository.deliveriesOf(tx, row.id)).map(({ id, kind, channel, targetId, status, attempts, lastError }) => ({ id, kind, channel, to: targetId, status, attempts, lastError })),
      };
    });
    if (!detail) {
      process.stderr.write(`wasl: no letter has the number ${number}\n`);
      process.exitCode = 1;
      return;
    }
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
  .action(async (options: { json?: boolean }) => {
    const settings = await coreConfig();
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

/** An option given once per value (`--email a --email b`). */
const repeated = (value: string, previous: string[] = []): string[] => [...previous, value];

const people = program.command('people').description("the office's staff: who may act on letters, and how the channels know them");
people
  .command('add <handle>')
  .description('add a person to the staff with a role and their identities on the channels')
  .requiredOption('--name <name>', 'their full name, as messages and the history show it')
  .addOption(new Option('--role <role>', 'clerk (the mail office), member or head (of --department), admin').choices(ROLES).makeOptionMandatory())
  .option('--department <code>', "the department of a member or head (see 'departments list')")
  .option('--email <address>', 'an email address they write from (may be given again)', repeated)
  .option('--slack <user-id>', 'their Slack user id, U… (may be given again)', repeated)
  .option('--matrix <user-id>', 'their Matrix user id, @name:server (may be given again)', repeated)
  .option('--json', 'machine-readable output')
  .action(async (typedHandle: string, options: { name: string; role: Role; department?: string; email?: string[]; slack?: string[]; matrix?: string[]; json?: boolean }) => {
    const settings = await coreConfig();
    const [{ grantOf, handleOf, identityOf }, { addPerson }] = await Promise.all([import('../people/people.input.js'), import('../people/people.repository.js')]);
    // Everything typed is checked before the register is opened: a mistake is said as such, wherever the register is.
    const handle = handleOf(typedHandle);
    const name = options.name.trim();
    if (name === '') throw new WaslError('cli.usage', 'give the person\'s name with --name');
    const grant = grantOf({ role: options.role, department: options.department }, settings.departments);
    const identities = [
      ...(options.email ?? []).map((address) => identityOf('email', address)),
      ...(options.slack ?? []).map((address) => identityOf('slack', address)),
      ...(options.matrix ?? []).map((address) => identityOf('matrix', address)),
    ];
    const { database } = await openRegister(settings);
    const person = await database.write((tx) => addPerson(tx, { handle, name, identities, grants: [grant], at: new Date() }));
    if (options.json) return json(person);
    process.stdout.write(`added ${person.handle} (${person.name}): ${rolesLine(person.grants)}; ${identitiesLine(person.identities) || 'no identity on a channel yet'}\n`);
  });

people
  .command('list')
  .description('the staff, by handle: roles and identities')
  .option('--removed', 'also those removed from the staff')
  .option('--json', 'machine-readable output')
  .action(async (options: { removed?: boolean; json?: boolean }) => {
    const { database } = await openRegister();
    const { listPeople } = await import('../people/people.repository.js');
    const staff = await database.read((tx) => listPeople(tx, { removed: options.removed }));
    if (options.json) return json(staff);
    printTable(
      ['HANDLE', 'NAME', 'ROLES', 'IDENTITIES', ...(options.removed ? ['REMOVED'] : [])],
      staff.map((person) => [person.handle, person.name, rolesLine(person.grants), identitiesLine(person.identities), ...(options.removed ? [person.removedAt?.toISOString() ?? ''] : [])]),
    );
  });

people
  .command('grant <handle>')
  .description('give a person on the staff one more role')
  .addArgument(new Argument('<role>', 'clerk, member, head or admin').choices(ROLES))
  .option('--department <code>', 'the department of a member or head')
  .action(async (typedHandle: string, role: Role, options: { department?: string }) => {
    const settings = await coreConfig();
    const [{ grantOf, handleOf }, { grantRole }] = await Promise.all([import('../people/people.input.js'), import('../people/people.repository.js')]);
    const handle = handleOf(typedHandle);
    const grant = grantOf({ role, department: options.department }, settings.departments);
    const { database } = await openRegister(settings);
    const granted = await database.write(async (tx) => grantRole(tx, { personId: (await staffMember(tx, handle)).id, grant }));
    process.stdout.write(granted ? `${handle} is now ${describeGrant(grant)}\n` : `${handle} is ${describeGrant(grant)} already; nothing changed\n`);
  });

people
  .command('remove <handle>')
  .description('remove a person from the staff: they act no more, and the letters\' history still names them')
  .action(async (typedHandle: string) => {
    const [{ handleOf }, { removePerson }] = await Promise.all([import('../people/people.input.js'), import('../people/people.repository.js')]);
    const handle = handleOf(typedHandle);
    const { database } = await openRegister();
    const person = await database.write(async (tx) => {
      const present = await staffMember(tx, handle);
      await removePerson(tx, { personId: present.id, at: new Date() });
      return present;
    });
    process.stdout.write(`${person.handle} (${person.name}) removed from the staff: no longer acts on letters; the history still names them; their identities may be given to someone new\n`);
  });

/** The present person with this handle, or exit 1 saying no one has it. */
async function staffMember(tx: RegisterTx, handle: string) {
  const { personByHandle } = await import('../people/people.repository.js');
  const person = await personByHandle(tx, handle);
  if (!person) throw new WaslError('person.not_found', `no one on the staff has the handle ${handle} (see 'wasl people list')`);
  return person;
}

function rolesLine(grants: readonly Grant[]): string {
  return grants.map(describeGrant).join(', ');
}

function identitiesLine(identities: readonly Identity[]): string {
  return identities.map(({ channel, address }) => `${channel}:${address}`).join(', ');
}

const deliveries = program.command('deliveries').description('the outbox: forwards, receipts and answers owed');
deliveries
  .command('list')
  .description('deliveries, newest first')
  .option('--failed', 'only those that failed and wait for the mail office')
  .addOption(new Option('--pending', 'only those still queued').conflicts('failed'))
  .option('--limit <n>', 'how many', wholeNumber, 100)
  .option('--json', 'machine-readable output')
  .action(async (options: { failed?: boolean; pending?: boolean; limit: number; json?: boolean }) => {
    const { database } = await openRegister();
    const { listDeliveries } = await import('../outbox/outbox.repository.js');
    const statuses = options.failed ? (['failed'] as const) : options.pending ? (['pending', 'sending'] as const) : undefined;
    const rows = await database.read((tx) => listDeliveries(tx, { statuses: statuses ? [...statuses] : undefined, limit: options.limit }));
    if (options.json) return json(rows);
    printTable(
      ['ID', 'LETTER', 'KIND', 'CHANNEL', 'TO', 'STATUS', 'ATTEMPTS', 'NEXT ATTEMPT', 'LAST ERROR'],
      rows.map((row) => [String(row.id), row.number, row.kind, row.channel, row.targetId, row.status, String(row.attempts), row.nextAttemptAt.toISOString(), row.lastError ?? '']),
    );
  });
deliveries
  .command('retry')
  .description('queue failed deliveries again (all of them when no id is given)')
  .addArgument(new Argument('[ids...]', 'ids from `deliveries list --failed`').argParser((text: string, previous: number[] = []) => [...previous, wholeNumber(text)]))
  .action(async (ids: number[] | undefined) => {
    const { database } = await openRegister();
    const { deliveryById, requeueFailed } = await import('../outbox/outbox.repository.js');
    const count = await database.write(async (tx) => {
      // Every id named must be a failed delivery, else nothing is queued: "0 queued" would hide a typo.
      for (const id of ids ?? []) {
        const delivery = await deliveryById(tx, id);
        if (!delivery) throw new WaslError('cli.not_found', `no delivery has the id ${id}; nothing was queued again`);
        if (delivery.status !== 'failed') throw new WaslError('cli.not_failed', `delivery ${id} is ${delivery.status}, not failed: only failed deliveries are queued again; nothing was queued again`);
      }
      return requeueFailed(tx, { ids: ids?.length ? ids : undefined, at: new Date() });
    });
    process.stdout.write(`${count} deliver${count === 1 ? 'y' : 'ies'} queued again\n`);
  });

const mailbox = program.command('mailbox').description('the built-in mailbox (outgoing mail kept when no relay is configured)');
mailbox
  .command('list')
  .option('--json', 'machine-readable output')
  .action(async (options: { json?: boolean }) => {
    const { database } = await openRegister();
    const { listMessages } = await import('../mailbox/mailbox.repository.js');
    const rows = await database.read((tx) => listMessages(tx, 200));
    if (options.json) return json(rows);
    printTable(['ID', 'KEPT', 'TO', 'SUBJECT'], rows.map((row) => [String(row.id), row.storedAt.toISOString(), row.recipients, row.subject]));
  });
mailbox
  .command('show')
  .description('print one message as it would have been sent')
  .addArgument(new Argument('<id>', 'its id in `mailbox list`').argParser(wholeNumber))
  .action(async (id: number) => {
    const { database } = await openRegister();
    const { messageById } = await import('../mailbox/mailbox.repository.js');
    const message = await database.read((tx) => messageById(tx, id));
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
  .action(async (options: { json?: boolean }) => {
    const settings = await coreConfig();
    const { describePublicKey, loadOrCreateSigningKey } = await import('../evidence/signing-key.js');
    const signing = loadOrCreateSigningKey({ dataDir: settings.dataDir, privateKeyPath: settings.receipts.signingKeyPath });
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
  .action(async (file: string, options: { letter?: string; key?: string; json?: boolean }) => {
    const receipt = readNamedFile(file, 'the receipt');
    const letterBytes = options.letter ? readNamedFile(options.letter, 'the letter') : undefined;
    const publicKeyPem = options.key ? readNamedFile(options.key, 'the public key').toString('utf8') : await ownPublicKeyPem(await coreConfig());
    const { verifyReceipt } = await import('../evidence/verify.js');
    const verdict = verifyReceipt({ receipt, publicKeyPem, letterBytes });
    if (options.json) json({ ok: verdict.ok, format: verdict.format, number: verdict.statement?.number ?? null, checks: verdict.checks });
    else {
      for (const check of verdict.checks) process.stdout.write(`${check.passed ? 'ok  ' : 'FAIL'}  ${check.name}: ${check.detail}\n`);
      process.stdout.write(verdict.ok ? `receipt ${verdict.statement?.number ?? ''} verifies\n` : 'the receipt does NOT verify\n');
    }
    if (!verdict.ok) process.exitCode = 1;
  });

const wholeRegister = program.command('register').description('the register as a whole');
wholeRegister
  .command('verify')
  .description("walk the register's hash chain; report the first entry altered, removed or reordered (exit 1)")
  .option('--key <file>', "the office's public key (PEM); default: this gateway's own key")
  .option('--json', 'machine-readable output')
  .action(async (options: { key?: string; json?: boolean }) => {
    const { settings, database } = await openRegister();
    const publicKeyPem = options.key ? readNamedFile(options.key, 'the public key').toString('utf8') : await ownPublicKeyPem(settings);
    const { verifyRegister } = await import('../receipts/register-verify.js');
    const report = await database.read((tx) => verifyRegister({ tx, publicKey: createPublicKey(publicKeyPem) }));
    if (options.json) json(report);
    else if (report.ok) process.stdout.write(`register intact: ${report.checked} entries checked\n`);
    else {
      process.stdout.write(`register NOT intact: ${report.problems.length} problem(s) among ${report.checked} entries; the first:\n  ${report.problems[0]!.message}\n`);
      for (const problem of report.problems.slice(1)) process.stdout.write(`  then: ${problem.message}\n`);
    }
    if (!report.ok) process.exitCode = 1;
  });

wholeRegister
  .command('copy <target>')
  .description('copy the register whole into an empty one: a postgres:// URL (made to the schema) or a new SQLite file; to move an office, stop its gateways first')
  .action(async (target: string) => {
    const settings = await coreConfig();
    const [{ describeRegister, openNewRegister }, { lockDataDirectory }, { copyRegister }] = await Promise.all([
      import('../db/open-register.js'),
      import('../db/data-dir-lock.js'),
      import('../db/register-copy.js'),
    ]);
    const { database: source } = await openRegister(settings);
    // The copy is the register at one moment whatever runs (register-copy.ts), but a letter a gateway registers after it would
    // stay behind in the old register. On SQLite the data directory's lock says whether a gateway runs there, and keeps one from
    // starting until the copy is done; gateways on PostgreSQL, maybe on other machines, cannot be seen (docs/operations.md says to stop them).
    const lock =
      settings.database.url === undefined
        ? lockDataDirectory(settings.dataDir, (holder) => `a gateway (${holder}) is running on the data directory ${settings.dataDir}: stop it first, or the letters it registers after the copy are left behind; nothing was copied`)
        : undefined;
    try {
      const copy = await openNewRegister(target, settings);
      let copied: Record<string, number>;
      try {
        copied = await copyRegister({ from: source, to: copy.register });
      } catch (error) {
        await copy.discard();
        throw error;
      }
      await copy.register.close();
      process.stdout.write(`register ${describeRegister(settings)} copied to ${copy.where}:\n`);
      printTable(['TABLE', 'ROWS'], Object.entries(copied).map(([table, rows]) => [table, String(rows)]));
      const nextStep = copy.file
        ? `make ${copy.file} the register of a data directory (its wasl.sqlite), leave database.url unset, and start the gateway there`
        : `set WASL_DATABASE_URL (or database.url) to ${copy.where}, with its password, on every gateway, and start them`;
      process.stdout.write(`next: ${nextStep}, with ${keysAndSecret(settings)} of this office (the chain and the receipt links were made with them); then run wasl register verify\n`);
    } finally {
      lock?.release();
    }
  });

program
  .command('backup <file>')
  .description('copy the register while the gateway runs (SQLite online backup), check the copy, and keep it as FILE (mode 0600)')
  .option('--force', 'replace FILE if it exists')
  .action(async (file: string, options: { force?: boolean }) => {
    const settings = await coreConfig();
    // The PostgreSQL register (database.url) has its own tool, which knows its server's consistency.
    if (settings.database.url !== undefined) throw new WaslError('backup.postgres', 'the register is on PostgreSQL (database.url): back it up with pg_dump, e.g. pg_dump --format=custom --file=FILE "$WASL_DATABASE_URL"');
    const [{ existingSqliteRegisterFile }, { backupSqliteRegister }] = await Promise.all([import('../db/open-register.js'), import('../db/sqlite-backup.js')]);
    const registerFile = existingSqliteRegisterFile(settings.dataDir);
    const report = await backupSqliteRegister({ registerFile, target: file, force: options.force ?? false, busyTimeoutMs: settings.database.busyTimeoutMs });
    process.stdout.write(
      `register ${registerFile} copied to ${report.target}: ${report.letters} letters, ${report.bytes} bytes, quick_check ok, mode 0600\n` +
        `not in it: ${keysAndSecret(settings)}; keep copies of them apart\n`,
    );
  });

program
  .command('config')
  .description('configuration')
  .command('show')
  .description('the effective configuration (file + environment), secrets masked')
  .action(async () => {
    const [{ source, ...settings }, { maskSecrets }] = await Promise.all([fullConfig(), import('../config/secrets.js')]);
    process.stdout.write(`# from ${source}\n${JSON.stringify(maskSecrets(settings), null, 2)}\n`);
  });

try {
  try {
    await program.parseAsync(process.argv);
  } finally {
    await Promise.allSettled(openedRegisters.map((register) => register.close()));
  }
} catch (error) {
  if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
  if (isWaslError(error)) {
    process.stderr.write(`wasl: ${error.message}\n`);
    process.exit(USAGE_ERRORS.has(error.code) ? 2 : 1);
  }
  throw error;
}
