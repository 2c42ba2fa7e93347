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
      /**
       * Starts and stops, one after another: a stop never runs during a start (the Matrix client and
       * Slack's socket would connect anyway once a start under way ends). Renewals do not wait for
       * them: a start that takes long (Slack backing off) must not let the lease expire meanwhile.
       */
      let changes = Promise.resolve();
      const change = (step: () => Promise<void>) => (changes = changes.then(step));

      const startWork = () =>
        change(async () => {
          if (working || stopped || heldUntil === 0) return;
          try {
            await work.start();
            working = true;
            logger.info({ lease: name, holder }, 'this gateway now does the work of its lease');
          } catch (error) {
            // Held but not started (a peer refused the connection): tried again at the next renewal.
            logger.error({ lease: name, err: error }, 'could not start the work of a lease held');
          }
        });
      const stopWork = (why: string) =>
        change(async () => {
          if (!working) return;
          working = false;
          logger.warn({ lease: name, why }, 'this gateway stops the work of its lease');
          await work.stop().catch((error: unknown) => logger.error({ lease: name, err: error }, 'stopping the work of a lease failed'));
        });

      const attempt = async () => {
        const at = now();
        const until = new Date(at.getTime() + ttlMs);
        try {
          // Only committed: a claim lost to a power cut is made again at the next renewal.
          const held = await register.write((tx) => claimLease(tx, { name, holder, at, until }), { wait: 'commit' });
          heldUntil = held ? until.getTime() : 0;
          if (held) void startWork();
          else void stopWork('another gateway holds the lease');
        } catch (error) {
          logger.warn({ lease: name, err: error }, 'the register did not answer a lease renewal');
          // Stop before the lease can expire and another gateway take over the work.
          if (now().getTime() + renewEveryMs >= heldUntil) void stopWork('the lease could not be renewed');
        }
      };

      /** The renewal under way, which the gateway's stop lets finish before it gives the lease back. */
      let attempting: Promise<void> | undefined;
      const tick = async () => {
        attempting = attempt();
        await attempting;
        if (!stopped) timer = setTimeout(() => void tick(), renewEveryMs);
      };

      running.add(async () => {
        clearTimeout(timer);
        await attempting;
        await stopWork('the gateway is stopping');
        if (heldUntil > 0) await register.write((tx) => releaseLease(tx, { name, holder }), { wait: 'commit' }).catch(() => undefined);
      });
      await tick();
      // The first start, when held, is over before the gateway says it has started.
      await changes;
    },

    async stop() {
      stopped = true;
      await Promise.all([...running].map((end) => end()));
      running.clear();
    },
  };
}
