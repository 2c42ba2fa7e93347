/**
 * Starts the libraries-alone server (stack-floor-server.mjs) for one run, on a free loopback port,
 * relaying to the sink, with its SQLite file in a directory of its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { removeOnExit, spawnBounded } from './cleanup.mjs';
import { childPids, freePort, smtpGreets, waitFor } from './measure.mjs';

const SERVER = join(dirname(fileURLToPath(import.meta.url)), 'stack-floor-server.mjs');

export async function startStackFloor({ sinkPort, messagesPerLetter, maxSeconds }) {
  const directory = mkdtempSync(join(tmpdir(), 'wasl-bench-floor-'));
  removeOnExit(directory);
  const port = await freePort();
  const child = spawnBounded({ command: process.execPath, args: [SERVER, String(port), String(sinkPort), join(directory, 'floor.db'), String(messagesPerLetter)], maxSeconds, options: { stdio: ['ignore', 'ignore', 'inherit'] } });
  let exited = false;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  void gone.then(() => (exited = true));
  const alive = () => {
    if (exited) throw new Error('the libraries-alone server exited at start');
  };
  // `timeout` runs node as its only child.
  const pid = await waitFor({ check: () => (alive(), childPids(child.pid)[0]), timeoutMs: 10_000, what: 'the libraries-alone server' });
  await waitFor({ check: () => (alive(), smtpGreets(port)), timeoutMs: 10_000, what: `the libraries-alone server on 127.0.0.1:${port}`, intervalMs: 100 });
  return {
    port,
    pid,
    async stop() {
      if (!exited) process.kill(pid, 'SIGTERM');
      await gone;
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
