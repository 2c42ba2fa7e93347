/**
 * Postfix as the peer: smtpd -> cleanup -> queue file fsync'd before the 250 -> qmgr -> smtp client
 * -> relayhost (our sink). Configured for loopback only the way /work/shared/bench/postfix-baseline.sh
 * does it (postconf on the system's main.cf, one listener on 127.0.0.1:<port>, port 25 off).
 * It is restarted with an empty queue for each run, and left stopped with an empty queue.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import { onCleanup } from './cleanup.mjs';
import { sleep, smtpGreets, waitFor } from './measure.mjs';

const MAIN_CF = '/etc/postfix/main.cf';
// Debian's package, installed with "No configuration", ships no main.cf; its template is here.
const DEBIAN_MAIN_CF = '/usr/share/postfix/main.cf.debian';
const MASTER_PID_FILE = '/var/spool/postfix/pid/master.pid';

function run(command, args) {
  return execFileSync(command, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
}

function quietly(command, args) {
  try {
    run(command, args);
  } catch {
    // Used only for "stop if running" style commands whose failure means there was nothing to do.
  }
}

function isRunning() {
  try {
    run('postfix', ['status']);
    return true;
  } catch {
    return false;
  }
}

function configure({ port, sinkPort }) {
  if (!existsSync(MAIN_CF)) {
    copyFileSync(DEBIAN_MAIN_CF, MAIN_CF);
    run('postconf', ['-e', 'compatibility_level = 3.6']);
  }
  run('postconf', [
    '-e',
    'myhostname = gw.test',
    'mydestination =',
    'alias_maps =',
    'alias_database =',
    'local_transport = error:5.1.1 local delivery disabled',
    `relayhost = [127.0.0.1]:${sinkPort}`,
    'default_transport = smtp',
    'relay_transport = relay',
    'mynetworks = 127.0.0.0/8',
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    'smtpd_relay_restrictions = permit_mynetworks reject_unauth_destination',
    'smtpd_peername_lookup = no',
    'smtp_dns_support_level = disabled',
    'maillog_file = /var/log/postfix-bench.log',
  ]);
  quietly('postconf', ['-M#', 'smtp/inet']);
  const listeners = run('postconf', ['-M'])
    .split('\n')
    .map((line) => line.split(/\s+/))
    .filter(([service, type]) => /^127\.0\.0\.1:\d+$/.test(service ?? '') && type === 'inet')
    .map(([service]) => `${service}/inet`);
  for (const listener of listeners) run('postconf', ['-MX', listener]);
  run('postconf', ['-M', `127.0.0.1:${port}/inet=127.0.0.1:${port} inet n - n - - smtpd`]);
  run('postfix', ['check']);
}

export function preparePostfix({ port, sinkPort }) {
  configure({ port, sinkPort });
  onCleanup(() => {
    if (!isRunning()) return;
    quietly('postsuper', ['-d', 'ALL']);
    quietly('postfix', ['stop']);
  });
  return {
    port,
    /** Stops Postfix if running, empties its queue, starts it afresh and waits for its listener. */
    async restart() {
      if (isRunning()) {
        run('postfix', ['stop']);
        await waitFor({ check: () => !isRunning(), timeoutMs: 30_000, what: 'Postfix to stop' });
      }
      run('postfix', ['start']);
      // Purged while running: a stopped Postfix's postsuper cannot write maillog_file and exits 1.
      run('postsuper', ['-d', 'ALL']);
      await waitFor({ check: () => smtpGreets(port), timeoutMs: 30_000, what: `Postfix to listen on 127.0.0.1:${port}` });
      return Number(readFileSync(MASTER_PID_FILE, 'utf8').trim());
    },
    async waitForEmptyQueue({ timeoutMs }) {
      await waitFor({
        check: () => run('postqueue', ['-p']).includes('Mail queue is empty'),
        timeoutMs,
        what: "Postfix's queue to empty",
        intervalMs: 200,
      });
    },
    async stop() {
      if (!isRunning()) return;
      run('postfix', ['stop']);
      await sleep(500);
    },
  };
}
