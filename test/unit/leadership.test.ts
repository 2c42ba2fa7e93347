/**
 * Work one gateway at a time (Slack Socket Mode, the Matrix sync) on a register shared by several:
 * exactly one gateway does it, and it moves to another when its holder stops or dies.
 */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { RegisterTx } from '../../src/db/register-tx.js';
import type { UnitOfWork } from '../../src/db/unit-of-work.js';
import { createLeadership, type LeadWork } from '../../src/leases/leadership.js';
import { temporarySqliteRegister } from '../helpers/register-file.js';
import { waitFor } from '../helpers/wait.js';

const logger = pino({ level: 'silent' });
const renewEveryMs = 20;
const ttlMs = 60_000;

/** A clock the test moves: leases expire only when it says so. */
function manualClock(start = '2026-03-02T09:00:00Z') {
  let at = Date.parse(start);
  return { now: () => new Date(at), advance: (ms: number) => void (at += ms) };
}

/** The work of one gateway, recording when it starts and stops. */
function recordedWork(gateway: string, log: string[]): LeadWork & { readonly running: boolean } {
  let running = false;
  return {
    get running() {
      return running;
    },
    async start() {
      running = true;
      log.push(`${gateway} started`);
    },
    async stop() {
      running = false;
      log.push(`${gateway} stopped`);
    },
  };
}

/** Lets several renewal periods go by, so a wrong takeover would have happened. */
const severalRenewals = () => new Promise((resolve) => setTimeout(resolve, renewEveryMs * 5));

/** Two gateways on one register, with a clock the test moves and a log of what their works did. */
function twoGateways() {
  const register = temporarySqliteRegister(async () => {});
  const clock = manualClock();
  const leadership = (holder: string) => createLeadership({ register, holder, now: clock.now, logger, ttlMs, renewEveryMs });
  return { register, clock, log: [] as string[], first: leadership('gateway-1'), second: leadership('gateway-2') };
}

describe('work led by one gateway at a time', () => {
  it('is done by the first gateway to ask, never by a second while the first holds it, and moves at once when the first stops', async () => {
    const { log, first, second } = twoGateways();
    const firstWork = recordedWork('gateway-1', log);
    const secondWork = recordedWork('gateway-2', log);

    await first.lead('slack-socket', firstWork);
    await second.lead('slack-socket', secondWork);
    await severalRenewals();
    expect(firstWork.running).toBe(true);
    expect(secondWork.running).toBe(false);

    await first.stop();
    await waitFor(() => secondWork.running, { what: 'the second gateway to take the work' });
    expect(log).toEqual(['gateway-1 started', 'gateway-1 stopped', 'gateway-2 started']);
    await second.stop();
  });

  it('moves to another gateway once the lease of a holder that died has expired, and not before', async () => {
    const register = temporarySqliteRegister(async () => {});
    const clock = manualClock();
    const log: string[] = [];
    let firstAlive = true;
    // A gateway that died writes nothing more to the register.
    const firstRegister: UnitOfWork<RegisterTx> = {
      ...register,
      write: (run, options) => (firstAlive ? register.write(run, options) : Promise.reject(new Error('gateway-1 is gone'))),
    };
    const first = createLeadership({ register: firstRegister, holder: 'gateway-1', now: clock.now, logger, ttlMs, renewEveryMs });
    const second = createLeadership({ register, holder: 'gateway-2', now: clock.now, logger, ttlMs, renewEveryMs });
    const secondWork = recordedWork('gateway-2', log);
    await first.lead('matrix-sync', recordedWork('gateway-1', log));
    await second.lead('matrix-sync', secondWork);

    firstAlive = false;
    await severalRenewals();
    expect(secondWork.running).toBe(false);

    // One renewal before expiry, the first gives up the work it can no longer prove it holds...
    clock.advance(ttlMs - renewEveryMs);
    await waitFor(() => log.includes('gateway-1 stopped'), { what: 'the unreachable holder to stop its work' });
    await severalRenewals();
    expect(secondWork.running).toBe(false);
    // ...and once the lease has expired, the second takes it.
    clock.advance(renewEveryMs + 1);
    await waitFor(() => secondWork.running, { what: 'the second gateway to take the expired lease' });
    expect(log).toEqual(['gateway-1 started', 'gateway-1 stopped', 'gateway-2 started']);
    await Promise.all([first.stop(), second.stop()]);
  });

  it('keeps renewing while its work is slow to start, so no other gateway starts it meanwhile', async () => {
    const { register, clock, log, first, second } = twoGateways();
    let connect: () => void = () => undefined;
    // A connection that takes long to open (Slack backing off before it gives a socket).
    const slowWork: LeadWork = {
      start: () => new Promise<void>((resolve) => (connect = resolve)).then(() => void log.push('gateway-1 started')),
      stop: async () => void log.push('gateway-1 stopped'),
    };
    const leading = first.lead('slack-socket', slowWork);
    await second.lead('slack-socket', recordedWork('gateway-2', log));

    // Twice the lease's length goes by, in steps shorter than it, each renewed by the first gateway.
    const leaseUntil = async () => (await register.read((tx) => tx.db.select().from(tx.tables.leases)))[0]?.expiresAt.getTime();
    for (let step = 0; step < 4; step++) {
      clock.advance(ttlMs / 2);
      await waitFor(async () => (await leaseUntil()) === clock.now().getTime() + ttlMs, { what: 'the first gateway to renew its lease' });
    }
    expect(log).toEqual([]);
    connect();
    await leading;
    expect(log).toEqual(['gateway-1 started']);
    await Promise.all([first.stop(), second.stop()]);
    expect(log).toEqual(['gateway-1 started', 'gateway-1 stopped']);
  });

  it('keeps separate works apart: each lease has its own holder', async () => {
    const { log, first, second } = twoGateways();
    await first.lead('slack-socket', recordedWork('slack on gateway-1', log));
    await second.lead('matrix-sync', recordedWork('matrix on gateway-2', log));
    await second.lead('slack-socket', recordedWork('slack on gateway-2', log));
    await severalRenewals();
    expect(log).toEqual(['slack on gateway-1 started', 'matrix on gateway-2 started']);
    await Promise.all([first.stop(), second.stop()]);
  });
});
