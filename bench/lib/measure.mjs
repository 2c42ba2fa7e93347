/** Small measuring tools: free ports, waiting, percentiles, memory of processes, size on disk. */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export { sleep };

/** A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns a truthy value; throws `what` after `timeoutMs`. */
export async function waitFor({ check, timeoutMs, what, intervalMs = 50 }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Resolves once something on 127.0.0.1:port answers with an SMTP 220 greeting. */
export function smtpGreets(port) {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let text = '';
    const finish = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => finish(false));
    socket.on('error', () => finish(false));
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (text.includes('\n')) {
        socket.end('QUIT\r\n');
        finish(text.startsWith('220'));
      }
    });
  });
}

/** Nearest-rank percentile of a list of numbers (p in 0..100); NaN for an empty list. */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

function statusField({ pid, field }) {
  const match = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return match ? Number(match[1]) * 1024 : Number.NaN;
}

/** Peak resident memory of one process so far (VmHWM), in bytes. */
export function peakResidentBytes(pid) {
  return statusField({ pid, field: 'VmHWM' });
}

/** Proportional set size of a process in bytes (shared pages split among their users), 0 if it is gone. */
function proportionalBytes(pid) {
  try {
    const match = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(/^Pss:\s+(\d+) kB/m);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    // The process ended between listing and reading: it holds no memory any more.
    return 0;
  }
}

/** Pids whose parent is `parentPid` (from /proc/<pid>/stat; works without CONFIG_PROC_CHILDREN). */
export function childPids(parentPid) {
  const children = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Field 4 is the parent pid; the command name (field 2) may contain spaces, so split after ')'.
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (parent === parentPid) children.push(Number(entry));
    } catch {
      // The process ended while /proc was being read.
    }
  }
  return children;
}

/**
 * Samples the memory of a process and its children (Postfix is a family of processes) every
 * `intervalMs` and keeps the largest total. Proportional set sizes, so shared libraries count once.
 */
export function sampleFamilyMemory({ rootPid, intervalMs = 200 }) {
  let peak = 0;
  const sample = () => {
    const total = [rootPid, ...childPids(rootPid)].reduce((sum, pid) => sum + proportionalBytes(pid), 0);
    peak = Math.max(peak, total);
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return peak;
    },
  };
}

let ticksPerSecond;

/** CPU seconds (user + system, all threads, plus reaped children) a process has used, 0 if it is gone. */
function cpuSecondsOf(pid) {
  ticksPerSecond ??= Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name: state is field 3, utime/stime/cutime/cstime are fields 14-17.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields.slice(11, 15).reduce((sum, ticks) => sum + Number(ticks), 0) / ticksPerSecond;
  } catch {
    // The process ended while we looked; its time is in its parent's cutime once reaped.
    return 0;
  }
}

/**
 * CPU seconds used by a process and its children. Postfix's master reaps its services, so the
 * time of those that already exited is in the master's own children's time.
 */
export function familyCpuSeconds(rootPid) {
  return [rootPid, ...childPids(rootPid)].reduce((sum, pid) => sum + cpuSecondsOf(pid), 0);
}

/** Total size in bytes of the files under a directory. */
export function directoryBytes(directory) {
  let total = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) total += directoryBytes(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}
