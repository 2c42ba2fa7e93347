/**
 * Sends what the outbox holds, through the adapter of each delivery's channel. Temporary failures
 * are retried with exponential back-off and jitter (so a department's server coming back is not
 * hit by every delivery at once); permanent ones, and those that ran out of attempts, are marked
 * failed for the mail office to see and retry. Nothing is ever dropped.
 */
import type { Logger } from 'pino';
import type { ChannelAdapter } from '../channels/port.js';
import type { WaslConfig } from '../config/config.load.js';
import type { Db } from '../db/db.js';
import type { GroupCommit } from '../db/group-commit.js';
import { toWaslError, WaslError } from '../errors.js';
import * as letterRepository from '../letters/letters.repository.js';
import type { DeliveryRow } from '../letters/letters.repository.js';
import { newDelivery } from '../letters/letters.usecases.js';
import type { Composer } from './compose.js';
import * as outbox from './outbox.repository.js';

export interface OutboxWorker {
  start(): void;
  /** Looks for due deliveries now (after a commit that queued some). */
  wake(): void;
  /** Stops claiming; waits for sends in flight, up to `graceMs`, then returns the rest to the queue. */
  stop(graceMs?: number): Promise<void>;
  /** Resolves once nothing is due and nothing is in flight (tests, drain on stop). */
  idle(): Promise<void>;
}

export function retryDelayMs({ attempt, baseMs, maxMs, random = Math.random }: { attempt: number; baseMs: number; maxMs: number; random?: () => number }): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential * (0.8 + 0.4 * random()));
}

export function createOutboxWorker({
  db,
  adapters,
  composer,
  config,
  now,
  logger,
  commit,
}: {
  db: Db;
  commit: GroupCommit;
  adapters: ReadonlyMap<string, ChannelAdapter>;
  composer: Composer;
  config: WaslConfig['outbox'];
  now: () => Date;
  logger: Logger;
}): OutboxWorker {
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let scheduled = false;
  const inFlight = new Map<number, Promise<void>>();
  let idleWaiters: (() => void)[] = [];

  function notifyIdleIfSo(): void {
    if (inFlight.size > 0 || claiming || idleWaiters.length === 0) return;
    const due = outbox.nextDueAt(db);
    if (due && due.getTime() <= now().getTime() && running) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  function schedule(delayMs: number): void {
    if (!running) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(tick, Math.max(0, delayMs));
    timer.unref?.();
  }

  function wake(): void {
    if (!running || scheduled) return;
    scheduled = true;
    // Batch the wake-ups of one event-loop turn into one claim.
    setImmediate(() => {
      scheduled = false;
      tick();
    });
  }

  /** One claim at a time; wake-ups during a claim ask for another right after it. */
  let claiming: Promise<void> | undefined;
  let claimAgain = false;

  function tick(): void {
    if (!running) return;
    if (claiming) {
      claimAgain = true;
      return;
    }
    const room = config.concurrency - inFlight.size;
    if (room <= 0) return notifyIdleIfSo();
    // Claims ride the shared group commit, a batch of deliveries at once. Synced: a claim resolves
    // only once the disk holds what it claims, so nothing is sent for a letter a power cut could
    // still take back (its sender has not had the 250 yet).
    claiming = commit((tx) => outbox.claimDue(tx, { at: now(), limit: room }))
      .then(
        (claimed) => {
          if (!running) {
            // Stopped while claiming: these go back to the queue unsent.
            outbox.releaseClaims(db, { ids: claimed.map((delivery) => delivery.id), at: now() });
            return;
          }
          for (const delivery of claimed) {
            const promise = send(delivery).finally(() => {
              inFlight.delete(delivery.id);
              wake();
              notifyIdleIfSo();
            });
            inFlight.set(delivery.id, promise);
          }
          // A full claim means more may be due: the sends' completions wake the worker. Otherwise look ahead.
          if (claimed.length < room) {
            const due = outbox.nextDueAt(db);
            const untilDue = due ? due.getTime() - now().getTime() : config.pollIntervalMs;
            schedule(Math.min(config.pollIntervalMs, Math.max(untilDue, 0)));
          }
        },
        (error: unknown) => {
          logger.error({ err: error, phase: 'outbox.claim' }, 'could not read the outbox; trying again');
          schedule(config.pollIntervalMs);
        },
      )
      .finally(() => {
        claiming = undefined;
        if (claimAgain) {
          claimAgain = false;
          wake();
        }
        notifyIdleIfSo();
      });
  }

  async function send(delivery: DeliveryRow): Promise<void> {
    const log = logger.child({ letter: delivery.letterId, delivery: delivery.id, channel: delivery.channel, kind: delivery.kind });
    try {
      const adapter = adapters.get(delivery.channel);
      if (!adapter) throw new WaslError('channel.off', `the ${delivery.channel} channel is not running`, { temporary: true });
      const message = composer.compose(delivery);
      const result = await adapter.send(message);
      await recordSent({ delivery, externalId: result.externalId });
      log.info({ phase: 'outbox.sent', attempt: delivery.attempts }, 'delivered');
    } catch (caught) {
      const error = toWaslError(caught, 'delivery.unexpected');
      await recordFailure({ delivery, error }).catch((failure: unknown) =>
        // The mark could not be written: the row stays 'sending' and is sent again after a restart.
        log.error({ phase: 'outbox.record', err: failure }, 'could not record a failed attempt'),
      );
      log.warn({ phase: 'outbox.failed', attempt: delivery.attempts, code: error.code, temporary: error.temporary, err: error.message }, 'delivery attempt failed');
    }
  }

  function recordSent({ delivery, externalId }: { delivery: DeliveryRow; externalId: string }): Promise<void> {
    const at = now();
    return commit((tx) => {
      outbox.markSent(tx, { id: delivery.id, externalId, at });
      const base = { letterId: delivery.letterId, at, departmentCode: delivery.departmentCode ?? undefined };
      if (delivery.kind === 'forward') {
        letterRepository.appendEvent(tx, { ...base, type: 'forwarded' });
        letterRepository.setStatus(tx, { letterId: delivery.letterId, status: 'forwarded', onlyIf: 'registered' });
      } else if (delivery.kind === 'receipt') {
        letterRepository.appendEvent(tx, { ...base, type: 'receipt_sent' });
      } else {
        const answer = letterRepository.letterById(tx, delivery.letterId);
        if (answer?.answersLetterId) letterRepository.appendEvent(tx, { ...base, letterId: answer.answersLetterId, type: 'answer_delivered', detail: { answer: answer.number } });
        letterRepository.appendEvent(tx, { ...base, type: 'answer_delivered' });
        // Whoever answered learns, on their own channel, that the answer reached the sender.
        if (answer?.replyChannel && answer.replyId && !answer.automated) {
          letterRepository.insertDeliveries(tx, [
            newDelivery({ letterId: answer.id, kind: 'receipt', target: { channel: answer.replyChannel, id: answer.replyId, thread: answer.replyThread ?? undefined }, at }),
          ]);
        }
      }
    }, { synced: false });
  }

  function recordFailure({ delivery, error }: { delivery: DeliveryRow; error: WaslError }): Promise<void> {
    const at = now();
    const errorText = error.message.slice(0, 1000);
    return commit((tx) => {
      if (error.temporary && delivery.attempts < config.maxAttempts) {
        const delay = Math.max(error.retryAfterMs ?? 0, retryDelayMs({ attempt: delivery.attempts, baseMs: config.retryBaseMs, maxMs: config.retryMaxMs }));
        outbox.markRetry(tx, { id: delivery.id, at, nextAttemptAt: new Date(at.getTime() + delay), errorCode: error.code, error: errorText });
        return;
      }
      outbox.markFailed(tx, { id: delivery.id, at, errorCode: error.code, error: errorText });
      letterRepository.appendEvent(tx, {
        letterId: delivery.letterId,
        type: delivery.kind === 'receipt' ? 'receipt_undeliverable' : 'delivery_failed',
        at,
        departmentCode: delivery.departmentCode ?? undefined,
        detail: { delivery: delivery.id, code: error.code },
      });
    }, { synced: false });
  }

  return {
    start() {
      if (running) return;
      running = true;
      const returned = outbox.returnInterruptedToQueue(db, now());
      if (returned > 0) logger.info({ phase: 'outbox.start', returned }, 'deliveries interrupted by a stop are queued again');
      wake();
    },
    wake,
    async stop(graceMs = 10_000) {
      running = false;
      if (timer) clearTimeout(timer);
      await claiming;
      const all = Promise.allSettled([...inFlight.values()]);
      let graceTimer: NodeJS.Timeout | undefined;
      await Promise.race([all, new Promise<void>((resolve) => (graceTimer = setTimeout(resolve, graceMs)))]);
      clearTimeout(graceTimer);
      if (inFlight.size > 0) outbox.returnInterruptedToQueue(db, now());
      notifyIdleIfSo();
    },
    idle() {
      return new Promise<void>((resolve) => {
        idleWaiters.push(resolve);
        notifyIdleIfSo();
      });
    },
  };
}
