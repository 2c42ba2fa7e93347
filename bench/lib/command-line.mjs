/**
 * How long the command line takes, as an operator types it: `bin/wasl --help`, and `bin/wasl
 * letters show NUMBER` on a small register (a few letters the gateway registered), each run
 * several times one after the other, in wall-clock milliseconds from spawn to exit.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { percentile } from './measure.mjs';
import { openProbe } from './probe.mjs';
import { cleanEnvironment, startWasl, WASL_RECIPIENT } from './wasl.mjs';

const LETTERS_IN_REGISTER = 3;

function timeOnce({ command, args }) {
  const started = performance.now();
  const result = spawnSync(command, args, { env: cleanEnvironment(), stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 60_000 });
  const elapsedMs = performance.now() - started;
  if (result.status !== 0) throw new Error(`wasl ${args.join(' ')} exited with ${result.status ?? result.signal}: ${result.stderr.trim()}`);
  return elapsedMs;
}

export async function timeCommandLine({ repoRoot, sinkPort, runs, letterFile }) {
  const gateway = await startWasl({ repoRoot, sinkPort, logLevel: 'warn', maxSeconds: 300, maxSessions: 1 });
  try {
    const probe = await openProbe({ port: gateway.smtpPort, recipient: WASL_RECIPIENT, letterFile, tag: `command-line-${process.pid}` });
    try {
      await probe.sendSequentially(LETTERS_IN_REGISTER);
    } finally {
      probe.close();
    }
    await gateway.stop();
    const { newestNumber } = gateway.registerFacts();
    const command = join(repoRoot, 'bin', 'wasl');
    const commands = { help: ['--help'], lettersShow: ['--config', gateway.configFile, 'letters', 'show', newestNumber] };
    const times = { help: [], lettersShow: [] };
    // Alternated, so that a passing burst of other work on the machine weighs on both alike.
    for (let run = 0; run < runs; run += 1) {
      for (const [name, args] of Object.entries(commands)) times[name].push(timeOnce({ command, args }));
    }
    const figures = (values) => ({ medianMs: percentile(values, 50), slowestMs: Math.max(...values), runs: values.length });
    return { help: figures(times.help), lettersShow: figures(times.lettersShow), lettersInRegister: LETTERS_IN_REGISTER };
  } finally {
    await gateway.stop().catch(() => undefined);
    gateway.discard();
  }
}
