/**
 * Everything the benchmark starts or creates is registered here, so that one synchronous
 * routine can undo it on every way out: normal end, thrown error, Ctrl-C, SIGTERM.
 * Processes are stopped by their own pid, never by name.
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';

const processes = new Set();
const directories = new Set();
const finalizers = [];

/**
 * Spawns a child under coreutils `timeout`, so it dies by itself even if this process is
 * killed with SIGKILL and never gets to clean up. `timeout` forwards SIGTERM to its child.
 */
export function spawnBounded({ command, args, maxSeconds, options = {} }) {
  const child = spawn('timeout', ['-k', '5', String(Math.ceil(maxSeconds)), command, ...args], options);
  processes.add(child);
  child.once('exit', () => processes.delete(child));
  return child;
}

export function removeOnExit(directory) {
  directories.add(directory);
}

/** A synchronous step to run at clean-up (e.g. stopping Postfix), after the processes are gone. */
export function onCleanup(step) {
  finalizers.push(step);
}

let cleanedUp = false;

export function cleanUp() {
  if (cleanedUp) return;
  cleanedUp = true;
  for (const child of processes) {
    try {
      // `timeout` passes SIGTERM on to its child and sends SIGKILL 5 s later if it is still there.
      process.kill(child.pid, 'SIGTERM');
    } catch {
      // Already gone between the exit event and now: nothing left to stop.
    }
  }
  for (const step of finalizers) {
    try {
      step();
    } catch (error) {
      process.stderr.write(`bench: clean-up step failed: ${error.message}\n`);
    }
  }
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
}

process.once('exit', cleanUp);
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]]) {
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal} received, cleaning up\n`);
    process.exit(code);
  });
}
