/**
 * The stand-in for departments and senders: Postfix's `smtp-sink`, which takes every message and
 * stores nothing (about 5,000-16,000 messages/s here, far above what it is fed, so it is never the
 * bottleneck). With `-c` it prints running counters (`sess=.. quit=.. mesg=N`) after each event;
 * they are read from a pipe and timestamped as they arrive.
 */
import { spawnBounded } from './cleanup.mjs';
import { smtpGreets, waitFor } from './measure.mjs';

export async function startSink({ port, maxSeconds, runningAsRoot }) {
  // `-u nobody`: smtp-sink refuses to keep root privileges; the listen backlog of 4096 absorbs bursts of connections.
  const args = ['-c', ...(runningAsRoot ? ['-u', 'nobody'] : []), `127.0.0.1:${port}`, '4096'];
  const child = spawnBounded({ command: 'smtp-sink', args, maxSeconds, options: { stdio: ['ignore', 'pipe', 'pipe'] } });
  let count = 0;
  let countChangedAt = performance.now();
  let errorText = '';
  const waiters = new Set();

  child.stdout.setEncoding('latin1');
  child.stdout.on('data', (text) => {
    const at = performance.now();
    const last = text.lastIndexOf('mesg=');
    if (last < 0) return;
    const value = Number.parseInt(text.slice(last + 5), 10);
    if (!(value > count)) return;
    count = value;
    countChangedAt = at;
    for (const waiter of waiters) {
      if (count >= waiter.target) {
        waiters.delete(waiter);
        waiter.resolve(at);
      }
    }
  });
  child.stderr.on('data', (chunk) => {
    errorText = (errorText + chunk.toString()).slice(-2000);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });

  await waitFor({
    check: async () => {
      if (exited) throw new Error(`smtp-sink exited at start: ${errorText.trim()}`);
      return smtpGreets(port);
    },
    timeoutMs: 10_000,
    what: `smtp-sink to listen on 127.0.0.1:${port}`,
  });
  // The probe connection above is counted as a session, not as a message; the counter starts at 0.

  return {
    port,
    get count() {
      return count;
    },
    get countChangedAt() {
      return countChangedAt;
    },
    /** Resolves with the time (performance.now()) at which the counter reached `target`, or null after `timeoutMs`. */
    reached({ target, timeoutMs }) {
      if (count >= target) return Promise.resolve(countChangedAt);
      return new Promise((resolve) => {
        const waiter = { target, resolve };
        waiters.add(waiter);
        setTimeout(() => {
          if (waiters.delete(waiter)) resolve(null);
        }, timeoutMs).unref();
      });
    },
    stop() {
      child.kill('SIGTERM');
    },
  };
}
