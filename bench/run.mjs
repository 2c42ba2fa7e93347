#!/usr/bin/env node
/**
 * `npm run bench`: wasl against Postfix, same load, same sink, same machine, one table.
 * See bench/README.md for what each figure means and how to reproduce them.
 *
 * Environment (all optional):
 *   BENCH_LETTERS=20000        letters per run
 *   BENCH_SESSIONS="1 10 50"   concurrent SMTP sessions, one run each
 *   BENCH_MODES="reuse new"    reuse: many letters per connection (smtp-source -d); new: one per connection
 *   BENCH_SYSTEMS="cli sink wasl wasl-pg wasl-pg×CORES postfix"   what to measure (cli: the command line's
 *                              start, once; sink: smtp-sink alone, the ceiling; wasl: on SQLite; wasl-pg: one
 *                              gateway on PostgreSQL; wasl-pg×N (or wasl-pgxN): `--workers N` on PostgreSQL;
 *                              floor, asked for by name: the libraries wasl is built on doing the least a mail
 *                              office must; wasl×N, asked for by name: `--workers N` on SQLite, for a tree that allows it)
 *   BENCH_CLI_RUNS=10          how many times each command of the command-line step runs
 *   BENCH_FLOOR_MESSAGES=2     what the libraries alone send a letter: 2 forward and receipt, 1 forward, 0 nothing
 *   BENCH_RUN_SECONDS=150      a run's load stops after this long (slow configurations are measured on what they did)
 *   BENCH_DRAIN_SECONDS=600    how long to wait for every forward and receipt to reach the sink
 *   BENCH_LATENCY_SAMPLES=200  latency probes during the load (one at a time, spread over the run)
 *   BENCH_IDLE_SAMPLES=100     latency probes after the load, on an idle server
 *   BENCH_LOG_LEVEL=info       the gateway's log level (its log goes to a file, as in production)
 *   BENCH_NODE_OPTIONS=""      extra node flags for the gateway (in NODE_OPTIONS), e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof"
 *   BENCH_JSON=FILE            where to write the figures as JSON (default bench/results/<date>.json)
 *   BENCH_WASL_ROOT=DIR        the built checkout whose bin/wasl.js is measured (default: this one), to compare a change
 */
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { cleanUp } from './lib/cleanup.mjs';
import { runLoad } from './lib/load.mjs';
import { directoryBytes, familyCpuSeconds, freePort, percentile, sampleFamilyMemory } from './lib/measure.mjs';
import { timeCommandLine } from './lib/command-line.mjs';
import { preparePostfix } from './lib/postfix.mjs';
import { openProbe } from './lib/probe.mjs';
import { histogramPercentile, histogramSince, scrapeHistogram } from './lib/histogram.mjs';
import { findPostgresBinaries, startPostgres } from './lib/postgres.mjs';
import { formatTable } from './lib/report.mjs';
import { startSink } from './lib/sink.mjs';
import { startStackFloor } from './lib/stack-floor.mjs';
import { startWasl, WASL_RECIPIENT } from './lib/wasl.mjs';

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(process.env.BENCH_WASL_ROOT || join(benchDir, '..'));
const LETTER_FILE = join(benchDir, 'letter-4k.eml');

function fail(message) {
  process.stderr.write(`bench: ${message}\n`);
  process.exit(1);
}

function settings(env) {
  const integer = (name, fallback) => {
    const value = env[name] === undefined || env[name] === '' ? fallback : Number(env[name]);
    if (!Number.isInteger(value) || value < 0) fail(`${name} must be a whole number, got "${env[name]}"`);
    return value;
  };
  const list = (name, fallback, allowed) => {
    const values = (env[name] || fallback).split(/[\s,]+/).filter(Boolean);
    for (const value of values) if (allowed && !allowed.includes(value)) fail(`${name}: "${value}" is not one of ${allowed.join(', ')}`);
    return values;
  };
  const sessions = list('BENCH_SESSIONS', '1 10 50').map(Number);
  if (sessions.some((count) => !Number.isInteger(count) || count < 1)) fail('BENCH_SESSIONS must list whole numbers ≥ 1');
  const floorMessages = integer('BENCH_FLOOR_MESSAGES', 2);
  const systems = list('BENCH_SYSTEMS', `cli sink wasl wasl-pg wasl-pg×${availableParallelism()} postfix`).map((name) => name.replace(/^(wasl(?:-pg)?)x(\d+)$/, '$1×$2'));
  for (const system of systems) {
    if (!['cli', 'sink', 'floor', 'postfix'].includes(system) && !waslVariant(system)) fail(`BENCH_SYSTEMS: "${system}" is not one of cli, sink, floor, wasl, wasl-pg, wasl-pg×N, wasl×N, postfix`);
  }
  if (floorMessages > 2) fail(`BENCH_FLOOR_MESSAGES must be 0, 1 or 2, got ${floorMessages}`);
  return {
    letters: Math.max(1, integer('BENCH_LETTERS', 20_000)),
    sessions,
    modes: list('BENCH_MODES', 'reuse new', ['reuse', 'new']),
    systems,
    cliRuns: Math.max(1, integer('BENCH_CLI_RUNS', 10)),
    floorMessages,
    runSeconds: integer('BENCH_RUN_SECONDS', 150),
    drainSeconds: integer('BENCH_DRAIN_SECONDS', 600),
    latencySamples: Math.max(1, integer('BENCH_LATENCY_SAMPLES', 200)),
    idleSamples: integer('BENCH_IDLE_SAMPLES', 100),
    logLevel: env.BENCH_LOG_LEVEL || 'info',
    nodeOptions: (env.BENCH_NODE_OPTIONS || '').split(/\s+/).filter(Boolean),
    jsonFile: env.BENCH_JSON || join(benchDir, 'results', `${new Date().toISOString().replace(/[:.]/g, '-')}.json`),
  };
}

/**
 * A gateway system's register and processes from its name: `wasl` (SQLite), `wasl-pg` (PostgreSQL),
 * `wasl-pg×N` and `wasl×N` (`wasl start` with N workers); undefined for other systems.
 */
function waslVariant(system) {
  const match = /^wasl(-pg)?(?:×([1-9]\d{0,2}))?$/.exec(system);
  return match ? { postgres: match[1] !== undefined, workers: Number(match[2] ?? 1) } : undefined;
}

/** Postfix's programs live in /usr/sbin, which a non-login shell's PATH may lack. */
function findCommands(names) {
  const path = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/sbin'];
  process.env.PATH = [...new Set(path)].join(delimiter);
  return names.filter((name) => {
    return !path.some((directory) => {
      try {
        accessSync(join(directory, name), constants.X_OK);
        return true;
      } catch {
        return false;
      }
    });
  });
}

function newestModification(directory) {
  let newest = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestModification(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function checkPrerequisites(config) {
  const needed = ['timeout', 'smtp-source', 'smtp-sink'];
  if (config.systems.includes('postfix')) needed.push('postfix', 'postconf', 'postsuper', 'postqueue');
  const missing = findCommands(needed);
  if (missing.length > 0) {
    fail(
      `missing ${missing.join(', ')}. The benchmark drives Postfix's smtp-source and smtp-sink and runs Postfix as the peer ` +
        '(`timeout` comes with coreutils); install Postfix with:\n' +
        "  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections\n" +
        '  DEBIAN_FRONTEND=noninteractive apt-get install -y postfix',
    );
  }
  if (config.systems.includes('postfix') && process.getuid?.() !== 0) {
    fail('Postfix runs as the peer, an instance of its own whose daemons switch to the postfix user: run as root (or BENCH_SYSTEMS="cli sink wasl" to leave it out)');
  }
  if (config.systems.some((system) => waslVariant(system)?.postgres) && !findPostgresBinaries()) {
    fail(
      'the wasl-pg systems register on a PostgreSQL server the benchmark starts (initdb, pg_ctl), and none was found ' +
        '(/usr/lib/postgresql/*/bin, pg_config --bindir); install it with `apt-get install -y postgresql`, or leave them out of BENCH_SYSTEMS',
    );
  }
  if (config.systems.some((system) => waslVariant(system)) || config.systems.includes('cli')) {
    const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
    if (!existsSync(cli)) fail('the gateway is not built: run `npm run build` first');
    const sources = Math.max(newestModification(join(repoRoot, 'src')), newestModification(join(repoRoot, 'adapters')));
    if (sources > statSync(cli).mtimeMs) process.stderr.write('bench: warning: src/ or adapters/ changed since the last build; `npm run build` to measure the current code\n');
  }
}

const rate = ({ count, fromMs, toMs }) => (count > 0 && toMs > fromMs ? count / ((toMs - fromMs) / 1000) : Number.NaN);
const latencyFigures = (values) => ({ p50: percentile(values, 50), p99: percentile(values, 99), samples: values.length });

/** Latencies of letters sent one after the other to the idle server, on a session of their own. */
async function probeIdle({ config, target, tag }) {
  if (config.idleSamples === 0) return [];
  const probe = await openProbe({ port: target.port, recipient: target.recipient, letterFile: LETTER_FILE, tag });
  try {
    return await probe.sendSequentially(config.idleSamples);
  } finally {
    probe.close();
  }
}

/**
 * One run against one system: the load from smtp-source, the latency probe riding along, then
 * waiting until the sink has every message the letters owe (wasl: a forward and a receipt each;
 * Postfix: the relayed letter), then idle latency.
 */
async function measureRun({ config, system, mode, sessions, sink, target }) {
  const baseline = sink.count;
  // CPU seconds by part: the system's processes, and for wasl-pg the PostgreSQL server's too.
  const cpuParts = target.cpuSeconds ?? (() => ({ [system]: familyCpuSeconds(target.pid) }));
  const cpuBefore = cpuParts();
  const writesBefore = await target.registerWrites?.();
  const probe = await openProbe({ port: target.port, recipient: target.recipient, letterFile: LETTER_FILE, tag: `${system}-${mode}-${sessions}-${process.pid}-load` });
  const probeEvery = Math.max(1, Math.floor(config.letters / config.latencySamples));
  let nextProbe = probeEvery;
  const load = await runLoad({
    port: target.port,
    sessions,
    reuse: mode === 'reuse',
    letters: config.letters,
    maxSeconds: config.runSeconds,
    recipient: target.recipient,
    onCount: (accepted) => {
      if (accepted < nextProbe) return;
      nextProbe = (Math.floor(accepted / probeEvery) + 1) * probeEvery;
      probe.sendIfIdle();
    },
  });
  if (load.failed) throw new Error(`smtp-source against ${system} stopped (${load.exitDetail}) after ${load.accepted} letters: ${load.errorText}`);
  await probe.settle();
  probe.close();
  const loadLatencies = probe.takeLatencies();
  const lettersDuringLoad = load.accepted + probe.sent;
  const owed = baseline + target.messagesPerLetter * lettersDuringLoad;
  // A system that sends nothing (the libraries alone with BENCH_FLOOR_MESSAGES=0) is done at its last 250.
  const completeAt = target.messagesPerLetter === 0 ? load.lastAt : await sink.reached({ target: owed, timeoutMs: config.drainSeconds * 1000 });
  const cpuAfter = cpuParts();
  const cpuMsPerLetterBy = Object.fromEntries(Object.entries(cpuAfter).map(([part, seconds]) => [part, completeAt === null ? Number.NaN : (1000 * (seconds - cpuBefore[part])) / lettersDuringLoad]));
  const writes = target.registerWrites && completeAt !== null ? histogramSince(await target.registerWrites(), writesBefore) : undefined;
  // A fresh session: the drain may have outlasted the server's idle timeout on the first one.
  const idleLatencies = completeAt === null ? [] : await probeIdle({ config, target, tag: `${system}-${mode}-${sessions}-${process.pid}-idle` });
  const allOwed = baseline + target.messagesPerLetter * (lettersDuringLoad + idleLatencies.length);
  // Let the idle probes' messages arrive too, so that none spills into the next run's count.
  if (completeAt !== null) await sink.reached({ target: allOwed, timeoutMs: 30_000 });
  return {
    system,
    mode,
    sessions,
    accepted: load.accepted,
    truncated: load.truncated,
    loadSeconds: (load.lastAt - load.firstAt) / 1000,
    intakeRate: rate({ count: load.accepted - 1, fromMs: load.firstAt, toMs: load.lastAt }),
    // Counted like intake (smtp-source's letters only) though the clock runs until the probe's letters are through too.
    endToEndRate: completeAt === null ? Number.NaN : rate({ count: load.accepted, fromMs: load.firstAt, toMs: completeAt }),
    endToEndSeconds: completeAt === null ? Number.NaN : (completeAt - load.firstAt) / 1000,
    lettersSent: lettersDuringLoad + idleLatencies.length,
    sinkMessages: sink.count - baseline,
    sinkMessagesOwed: allOwed - baseline,
    // Everything the system did for the letters of the load and the probe, per letter.
    cpuMsPerLetter: Object.values(cpuMsPerLetterBy).reduce((sum, ms) => sum + ms, 0),
    cpuMsPerLetterBy,
    // The register's write transactions during the load and the drain: how long each held the register, how many a letter took.
    registerWrite: writes && {
      p50Ms: 1000 * histogramPercentile(writes, 50),
      p99Ms: 1000 * histogramPercentile(writes, 99),
      meanMs: writes.count > 0 ? (1000 * writes.sum) / writes.count : Number.NaN,
      transactions: writes.count,
      perLetter: writes.count / lettersDuringLoad,
    },
    loadLatency: latencyFigures(loadLatencies),
    idleLatency: latencyFigures(idleLatencies),
  };
}

async function runSink({ config, mode, sessions, sink }) {
  const baseline = sink.count;
  const load = await runLoad({ port: sink.port, sessions, reuse: mode === 'reuse', letters: config.letters, maxSeconds: config.runSeconds, recipient: 'dept@sink.test' });
  if (load.failed) throw new Error(`smtp-source against smtp-sink stopped (${load.exitDetail}): ${load.errorText}`);
  await sink.reached({ target: baseline + load.accepted, timeoutMs: 10_000 });
  return {
    system: 'sink',
    accepted: load.accepted,
    truncated: load.truncated,
    intakeRate: rate({ count: load.accepted - 1, fromMs: load.firstAt, toMs: load.lastAt }),
    sinkMessages: sink.count - baseline,
  };
}

/** A gateway system (`wasl`, `wasl-pg`, `wasl-pg×N`, `wasl×N`), fresh for the run: on PostgreSQL, on a fresh database. */
async function runWasl({ config, system, mode, sessions, sink, postgres }) {
  const { postgres: onPostgres, workers } = waslVariant(system);
  const gateway = await startWasl({
    repoRoot,
    sinkPort: sink.port,
    logLevel: config.logLevel,
    maxSeconds: config.runSeconds + config.drainSeconds + 300,
    maxSessions: sessions,
    nodeOptions: config.nodeOptions,
    databaseUrl: onPostgres ? postgres.createDatabase() : undefined,
    workers,
  });
  try {
    const target = {
      port: gateway.smtpPort,
      pid: gateway.pid,
      recipient: WASL_RECIPIENT,
      messagesPerLetter: 2,
      cpuSeconds: () => ({ gateway: familyCpuSeconds(gateway.pid), ...(onPostgres ? { postgres: familyCpuSeconds(postgres.pid) } : {}) }),
      registerWrites: () => scrapeHistogram({ url: gateway.metricsUrl, name: 'wasl_register_write_seconds' }),
    };
    const run = await measureRun({ config, system, mode, sessions, sink, target });
    const peak = gateway.peakResidentBytes();
    await gateway.stop();
    const facts = gateway.registerFacts();
    // On PostgreSQL the data directory keeps only the keys: the register's size is the server's.
    const dataBytes = onPostgres ? Number.NaN : directoryBytes(gateway.dataDir);
    return {
      ...run,
      workers,
      // Per gateway process: the largest of the workers'; the primary, which runs no gateway, apart.
      peakMemoryBytes: Math.max(...peak.gateways),
      peakMemoryBytesEach: peak.gateways,
      peakMemoryPrimaryBytes: peak.primary,
      ...facts,
      dataBytes,
      diskBytesPerLetter: facts.registered > 0 ? dataBytes / facts.registered : Number.NaN,
    };
  } finally {
    // A no-op after a normal run; after a failed one, the failure being thrown is what matters, not the stop's.
    await gateway.stop().catch(() => undefined);
    gateway.discard();
  }
}

async function runFloor({ config, mode, sessions, sink }) {
  const { floorMessages } = config;
  const floor = await startStackFloor({ sinkPort: sink.port, messagesPerLetter: floorMessages, maxSeconds: config.runSeconds + config.drainSeconds + 300 });
  const memory = sampleFamilyMemory({ rootPid: floor.pid });
  try {
    const run = await measureRun({ config, system: 'floor', mode, sessions, sink, target: { port: floor.port, pid: floor.pid, recipient: WASL_RECIPIENT, messagesPerLetter: floorMessages } });
    return { ...run, peakMemoryBytes: memory.stop(), diskBytesPerLetter: Number.NaN };
  } finally {
    memory.stop();
    await floor.stop();
  }
}

async function runPostfix({ config, mode, sessions, sink, postfix }) {
  const masterPid = await postfix.restart();
  const memory = sampleFamilyMemory({ rootPid: masterPid });
  try {
    const run = await measureRun({ config, system: 'postfix', mode, sessions, sink, target: { port: postfix.port, pid: masterPid, recipient: WASL_RECIPIENT, messagesPerLetter: 1 } });
    await postfix.waitForEmptyQueue({ timeoutMs: 60_000 });
    // Postfix deletes a queue file once the letter is relayed: nothing is kept per letter.
    return { ...run, peakMemoryBytes: memory.stop(), diskBytesPerLetter: Number.NaN };
  } finally {
    memory.stop();
  }
}

function describeMachine() {
  const cpu = cpus();
  let postfixVersion = 'not used';
  try {
    // -d: the compiled-in value, readable without a system main.cf (Debian's "No configuration" has none).
    postfixVersion = execFileSync('postconf', ['-d', '-h', 'mail_version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // Postfix is not installed or not on PATH: the header says so.
  }
  return `node ${process.version}, ${cpu.length} × ${cpu[0]?.model ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, Postfix ${postfixVersion}`;
}

/** The 1-minute load average: the figures are only comparable on a machine that is otherwise quiet. */
function loadAverage() {
  return Number(readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
}

/**
 * Every letter that got a 250 is registered, and no delivery failed. A run stopped at the time
 * limit may also have registered letters whose 250 smtp-source never read.
 */
function registerMatches(run) {
  return run.failedDeliveries === 0 && (run.truncated ? run.registered >= run.lettersSent : run.registered === run.lettersSent);
}

/** One line for a failed cell: what went wrong, without the stack. */
const reasonOf = (error) => String(error?.message ?? error).split('\n')[0];

function describeRun(run) {
  if (run.error) return `FAILED: ${run.error}`;
  const extra = waslVariant(run.system) ? `, registered ${run.registered}, failed deliveries ${run.failedDeliveries}` : '';
  return (
    `${run.accepted} letters${run.truncated ? ' (stopped at the time limit)' : ''}, ` +
    `intake ${Math.round(run.intakeRate)}/s${run.endToEndRate !== undefined ? `, end to end ${Math.round(run.endToEndRate)}/s` : ''}${extra}`
  );
}

async function measureCommandLine({ config, sink }) {
  try {
    const figures = await timeCommandLine({ repoRoot, sinkPort: sink.port, runs: config.cliRuns, letterFile: LETTER_FILE });
    const line = ({ medianMs, slowestMs }) => `median ${Math.round(medianMs)} ms, slowest ${Math.round(slowestMs)} ms`;
    process.stdout.write(
      `\ncommand line (bin/wasl, ${config.cliRuns} runs each, wall clock from start to exit):\n` +
        `  wasl --help                                  ${line(figures.help)}\n` +
        `  wasl letters show N (${figures.lettersInRegister} letters in the register)   ${line(figures.lettersShow)}\n`,
    );
    return figures;
  } catch (error) {
    process.stdout.write(`\ncommand line: FAILED: ${reasonOf(error)}\n`);
    return { error: reasonOf(error) };
  }
}

async function main() {
  const config = settings(process.env);
  checkPrerequisites(config);
  const loadSystems = config.systems.filter((system) => system !== 'cli');
  const runCount = config.modes.length * config.sessions.length;
  // The whole invocation is bounded: every run is bounded, and so is their sum.
  const budgetSeconds = runCount * loadSystems.length * (config.runSeconds + config.drainSeconds + 120) + 120 + (config.systems.includes('cli') ? 300 : 0);
  const watchdog = setTimeout(() => fail(`the benchmark exceeded its time budget of ${budgetSeconds} s; stopping`), budgetSeconds * 1000);

  process.stdout.write(`wasl benchmark: ${config.letters} letters per run, ${describeMachine()}\n`);
  const loadAtStart = loadAverage();
  if (loadAtStart > 0.5) process.stderr.write(`bench: warning: the machine is busy (load average ${loadAtStart}); other work shares the CPU with what is measured\n`);
  const sink = await startSink({ port: await freePort(), maxSeconds: budgetSeconds + 60, runningAsRoot: process.getuid?.() === 0 });
  const commandLine = config.systems.includes('cli') ? await measureCommandLine({ config, sink }) : undefined;
  const postgres = loadSystems.some((system) => waslVariant(system)?.postgres) ? startPostgres({ binaries: findPostgresBinaries(), port: await freePort() }) : undefined;
  const postfix = loadSystems.includes('postfix') ? preparePostfix({ port: await freePort(), sinkPort: sink.port, maxSessions: Math.max(...config.sessions) }) : undefined;

  const runs = new Map();
  for (const mode of loadSystems.length > 0 ? config.modes : []) {
    for (const sessions of config.sessions) {
      const results = {};
      runs.set(`${mode}/${sessions}`, results);
      for (const system of loadSystems) {
        const started = Date.now();
        // A cell that fails keeps its error in the table; the other cells' figures stand.
        try {
          if (system === 'sink') results.sink = await runSink({ config, mode, sessions, sink });
          if (system === 'floor') results.floor = await runFloor({ config, mode, sessions, sink });
          if (waslVariant(system)) results[system] = await runWasl({ config, system, mode, sessions, sink, postgres });
          if (system === 'postfix') results.postfix = await runPostfix({ config, mode, sessions, sink, postfix });
        } catch (error) {
          results[system] = { system, mode, sessions, error: reasonOf(error) };
        }
        const run = results[system];
        run.loadAverageAfter = loadAverage();
        process.stderr.write(`bench: ${system} ${mode} ${sessions} session(s): ${describeRun(run)} [${((Date.now() - started) / 1000).toFixed(0)} s]\n`);
      }
    }
  }
  await postfix?.stop();
  postgres?.stop();
  sink.stop();
  clearTimeout(watchdog);

  if (runs.size > 0) process.stdout.write(`\n${formatTable(runs)}\n`);
  const measured = [...runs.values()].flatMap((results) => Object.values(results));
  const truncated = measured.some((run) => run.truncated);
  if (runs.size > 0) {
    process.stdout.write(
      `\n${truncated ? '* the load was stopped at BENCH_RUN_SECONDS; figures cover what was sent by then.\n' : ''}` +
        `Messages at the sink include the latency probe's letters; wasl owes 2 per letter (forward and receipt), Postfix 1, the libraries alone ${config.floorMessages}.\n`,
    );
  }
  const problems = [
    ...(commandLine?.error ? [`command line: ${commandLine.error}`] : []),
    ...measured.filter((run) => run.error).map((run) => `${run.system} ${run.mode}/${run.sessions} failed: ${run.error}`),
    ...measured
      .filter((run) => !run.error && run.system !== 'sink')
      .filter((run) => run.sinkMessages < run.sinkMessagesOwed || (waslVariant(run.system) && !registerMatches(run)))
      .map(
        (run) =>
          `${run.system} ${run.mode}/${run.sessions}: ${run.sinkMessages} of ${run.sinkMessagesOwed} messages reached the sink` +
          (waslVariant(run.system) ? `, ${run.registered} registered for ${run.lettersSent} letters 250-ed, ${run.failedDeliveries} failed deliveries` : ''),
      ),
  ];
  mkdirSync(dirname(config.jsonFile), { recursive: true });
  writeFileSync(config.jsonFile, `${JSON.stringify({ machine: describeMachine(), config, commandLine, runs: Object.fromEntries(runs) }, null, 2)}\n`);
  process.stdout.write(`figures as JSON: ${config.jsonFile}\n`);
  if (problems.length > 0) fail(`not everything came through:\n  ${problems.join('\n  ')}`);
}

main().catch((error) => {
  cleanUp();
  fail(error.stack ?? String(error));
});
