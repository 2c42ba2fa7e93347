/**
 * Work only one gateway of a shared register may do at a time (a Slack Socket Mode connection, a
 * Matrix sync: two would take every event twice). Each gateway tries for the work's lease every
 * `renewEveryMs`; the holder renews it, the others take it once it has expired, so the work moves
 * within `ttlMs` of its holder dying, and at once when its holder stops (it gives the lease back).
 *
 * A holder that cannot reach the register cannot prove it still holds the lease: it stops the work
 * before the lease could have passed to another gateway.
 */
import type { Logger } from 'pino';
import type { RegisterTx } from '../db/register-tx.js';
import type { UnitOfWork } from '../db/unit-of-work.js';
import { claimLease, releaseLease } from './leases.repository.js';

export interface LeadWork {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface Leadership {
  /** Runs `work` while this gateway holds the lease `name`; resolves once the first try is over. */
  lead(name: string, work: LeadWork): Promise<void>;
  /** Stops every work this gateway leads and gives its leases back. */
  stop(): Promise<void>;
}

export function createLeadership({
  register,
  holder,
  now,
  logger,
  ttlMs = 15_000,
  renewEveryMs = 5_000,
}: {
  register: UnitOfWork<RegisterTx>;
  /** This gateway, as no other names itself (host, process id, start time). */
  holder: string;
  now: () => Date;
  logger: Logger;
  ttlMs?: number;
  renewEveryMs?: number;
}): Leadership {
  const running = new Set<() => Promise<void>>();
  let stopped = false;

  return {
    async lead(name, work) {
      let heldUntil = 0;
      let working = false;
      let timer: NodeJS.Timeout | undefined;

      const startWork = async () => {
        if (working || stopped) return;
        try {
          await work.start();
          working = true;
          logger.info({ lease: name }, 'this gateway now does the work of its lease');
        } catch (error) {
          // Held but not started (a peer refused the connection): tried again at the next renewal.
          logger.error({ lease: name, err: error }, 'could not start the work of a lease held');
        }
      };
      const stopWork = async (why: string) => {
        if (!working) return;
        working = false;
        logger.warn({ lease: name, why }, 'this gateway stops the work of its lease');
        await work.stop().catch((error: unknown) => logger.error({ lease: name, err: error }, 'stopping the work of a lease failed'));
      };

      const attempt = async () => {
        const at = now();
        const until = new Date(at.getTime() + ttlMs);
        try {
          // Only committed: a claim lost to a power cut is made again at the next renewal.
          const held = await register.write((tx) => claimLease(tx, { name, holder, at, until }), { wait: 'commit' });
          if (held) {
            heldUntil = until.getTime();
            await startWork();
          } else {
            heldUntil = 0;
            await stopWork('another gateway holds the lease');
          }
        } catch (error) {
          logger.warn({ lease: name, err: error }, 'the register did not answer a lease renewal');
          // Stop before the lease can expire and another gateway take over the work.
          if (now().getTime() + renewEveryMs >= heldUntil) await stopWork('the lease could not be renewed');
        }
      };

      const tick = async () => {
        await attempt();
        if (!stopped) timer = setTimeout(() => void tick(), renewEveryMs);
      };

      running.add(async () => {
        clearTimeout(timer);
        await stopWork('the gateway is stopping');
        if (heldUntil > 0) await register.write((tx) => releaseLease(tx, { name, holder }), { wait: 'commit' }).catch(() => undefined);
      });
      await tick();
    },

    async stop() {
      stopped = true;
      await Promise.all([...running].map((end) => end()));
      running.clear();
    },
  };
}
