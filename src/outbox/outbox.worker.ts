/**
 * Sends what the outbox holds, through the adapter of each delivery's channel. Temporary failures
 * are retried with exponential back-off and jitter (so a department's server coming back is not
 * hit by every delivery at once); permanent ones, and those that ran out of attempts, are marked
 * failed for the mail office to see and retry. Nothing is ever dropped.
 *
 * Several gateways may share the register: each worker claims under a holder name of its own and a
 * lease it renews while it sends, gives back only its own claims when it stops, and sends again the
 * deliveries whose lease ran out, whoever claimed them (a gateway that died mid-send).
 */
import type { Logger } from 'pino';
import type { ChannelAdapter, OutboundMessage } from '../channels/port.js';
import type { WaslConfig } from '../config/config.load.js';
import type { RegisterTx } from '../db/register-tx.js';
import type { UnitOfWork } from '../db/unit-of-work.js';
import { writeTogether } from '../db/write-together.js';
import { toWaslError, WaslError } from '../errors.js';
import * as letterRepository from '../letters/letters.repository.js';
import type { DeliveryRow, NewLetterEvent } from '../letters/letters.repository.js';
import { processHolder } from '../leases/process-holder.js';
import { newDelivery, type DeliveryHandOff } from '../letters/letters.usecases.js';
import type { Composer } from './compose.js';
import * as outbox from './outbox.repository.js';
import type { ChannelPool, DeliveryClaim } from './outbox.repository.js';

export interface OutboxWorker extends DeliveryHandOff {
  /** Returns to the queue an earlier run's claims under its name and those whose lease ran out (a gateway that died mid-send), then looks for due deliveries. */
  start(): Promise<void>;
  /** Looks for due deliveries in the register now (something there may have become due). */
  wake(): void;
  /** Stops claiming; waits for sends in flight, up to `graceMs`, then returns its own unfinished claims to the queue. */
  stop(graceMs?: number): Promise<void>;
  /** Resolves once nothing is due and nothing is in flight (tests, drain on stop). */
  idle(): Promise<void>;
}

export function retryDelayMs({ attempt, baseMs, maxMs, random = Math.random }: { attempt: number; baseMs: number; maxMs: number; random?: () => number }): number {
  const exponential = Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exponential * (0.8 + 0.4 * random()));
}

export function createOutboxWorker({
  database,
  adapters,
  composer,
  config,
  now,
  logger,
  onDeliveryFailed,
  holder = processHolder(),
}: {
  /** The register, shared with the intake so that marks and claims ride the commits of letters. */
  database: UnitOfWork<RegisterTx>;
  /** Told of each delivery given up on, once that is committed (/metrics). */
  onDeliveryFailed?: (delivery: DeliveryRow) => void;
  adapters: ReadonlyMap<string, ChannelAdapter>;
  composer: Composer;
  config: WaslConfig['outbox'];
  now: () => Date;
  logger: Logger;
  /**
   * Who this worker's claims say holds them: a name no other live process uses (by default, one
   * of this process's own). Claims under it found at start are an earlier run's, over by then.
   */
  holder?: string | undefined;
}): OutboxWorker {
  let running = false;
  let timer: NodeJS.Timeout | undefined;
  let leaseTimer: NodeJS.Timeout | undefined;
  /** The renewal under way, which `stop` waits for. */
  let keepingLeases: Promise<void> | undefined;
  /** A claim made at `at`: this worker's, for a lease from then. */
  const claimAt = (at: Date): DeliveryClaim => ({ holder, leaseUntil: new Date(at.getTime() + config.leaseMs) });
  let scheduled = false;
  /**
   * Each channel has its own `concurrency` slots, and channels with no adapter running share one
   * more set: a peer that hangs (a homeserver that never answers holds a slot until the request
   * times out) then delays its own channel's deliveries only, never the receipts of the others.
   */
  interface Pool {
    channels: ChannelPool;
    /** Sends under way. */
    sending: number;
    /**
     * Whether the register may hold deliveries due now that nobody handed over: false after a claim
     * that found fewer than it had room for, until the next one falls due, a poll, or a wake.
     */
    mayHaveDue: boolean;
    /** Handed over at birth (claimed already), waiting for a free slot; `stored` resolves once their commit is on disk. */
    waiting: { delivery: DeliveryRow; stored: Promise<unknown> }[];
  }
  const pools: readonly Pool[] = [...[...adapters.keys()].map((channel) => ({ channel })), { outside: [...adapters.keys()] }].map((channels) => ({
    channels,
    sending: 0,
    mayHaveDue: true,
    waiting: [],
  }));
  const poolOf = (channel: string): Pool => pools.find((pool) => 'channel' in pool.channels && pool.channels.channel === channel) ?? pools.at(-1)!;
  const roomIn = (pool: Pool) => config.concurrency - pool.sending;
  const anyWaiting = () => pools.some((pool) => pool.waiting.length > 0);
  let wakes = 0;
  const inFlight = new Map<number, Promise<void>>();
  /** Marks of finished sends not yet committed. */
  const marks = new Set<Promise<void>>();
  let idleWaiters: (() => void)[] = [];

  const busy = () => inFlight.size > 0 || anyWaiting() || marks.size > 0 || claiming !== undefined;

  function notifyIdleIfSo(): void {
    if (busy() || idleWaiters.length === 0) return;
    database.read((tx) => outbox.nextDueAt(tx)).then(
      (due) => {
        // Asked again: work may have started while the register was read.
        if (busy() || (due && due.getTime() <= now().getTime() && running)) return;
        const waiters = idleWaiters;
        idleWaiters = [];
        for (const resolve of waiters) resolve();
      },
      (error: unknown) => logger.error({ err: error, phase: 'outbox.idle' }, 'could not read the outbox'),
    );
  }

  function schedule(delayMs: number): void {
    if (!running) return;
    if (timer) clearTimeout(timer);
    timer = setTimeout(wake, Math.max(0, delayMs));
    timer.unref?.();
  }

  function wake(): void {
    for (const pool of pools) pool.mayHaveDue = true;
    wakes += 1;
    nudge();
  }

  /** Runs the worker on the next turn of the event loop: the wake-ups of one turn make one claim. */
  function nudge(): void {
    if (!running || scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      tick();
    });
  }

  /** One claim at a time; wake-ups during a claim ask for another right after it. */
  let claiming: Promise<void> | undefined;
  let claimAgain = false;

  function start(delivery: DeliveryRow, stored?: Promise<unknown>): void {
    const pool = poolOf(delivery.channel);
    pool.sending += 1;
    const promise = send(delivery, stored).finally(() => {
      inFlight.delete(delivery.id);
      pool.sending -= 1;
      nudge();
      notifyIdleIfSo();
    });
    inFlight.set(delivery.id, promise);
  }

  /** Deliveries handed over at birth go first: they are claimed already. Each waits for a slot of its own channel. */
  function startWaiting(): void {
    for (const pool of pools) {
      while (pool.waiting.length > 0 && roomIn(pool) > 0) {
        const { delivery, stored } = pool.waiting.shift()!;
        start(delivery, stored);
      }
    }
  }

  function tick(): void {
    if (!running) return;
    startWaiting();
    if (claiming) {
      claimAgain = true;
      return;
    }
    const claims = pools.filter((pool) => pool.mayHaveDue && roomIn(pool) > 0).map((pool) => ({ pool, limit: roomIn(pool) }));
    if (claims.length === 0) return notifyIdleIfSo();
    const wakesBefore = wakes;
    let claimedAt!: Date;
    // Claims ride the shared group commit, a batch of deliveries at once. A claim resolves only
    // once the disk holds every write before it, so nothing is sent for a letter a power cut could
    // still take back (its sender has not had the 250 yet); the claim itself, lost, is made again.
    claiming = database
      .write(
        async (tx) => {
          claimedAt = now();
          const claimedPerPool: DeliveryRow[][] = [];
          for (const { pool, limit } of claims) claimedPerPool.push(await outbox.claimDue(tx, { at: claimedAt, limit, pool: pool.channels, ...claimAt(claimedAt) }));
          return claimedPerPool;
        },
        { wait: 'earlier' },
      )
      .then(
        async (claimedPerPool) => {
          const claimed = claimedPerPool.flat();
          // Stopped while claiming: these go back to the queue unsent.
          if (!running) return returnToQueue(claimed);
          for (const delivery of claimed) start(delivery);
          // A full claim means more may be due: the sends' completions run the worker again. Otherwise look ahead.
          const short = claims.filter(({ limit }, index) => claimedPerPool[index]!.length < limit);
          if (short.length > 0) {
            // Unless a wake came meanwhile: what woke it may have been committed after this claim.
            if (wakes === wakesBefore) for (const { pool } of short) pool.mayHaveDue = false;
            // A short claim took everything of its pool due by then; what else was due is waiting for
            // a slot, and a finished send runs the worker for it. Looking ahead at that would wake the
            // worker at once, and again after each empty claim, for as long as a peer held every slot.
            const due = await database.read((tx) => outbox.nextDueAt(tx, { after: claimedAt })).catch((error: unknown) => {
              logger.error({ err: error, phase: 'outbox.claim' }, 'could not read when the next delivery is due; polling');
              return undefined;
            });
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
          nudge();
        }
        notifyIdleIfSo();
      });
  }

  async function composeFor(delivery: DeliveryRow): Promise<{ adapter: ChannelAdapter; message: OutboundMessage } | { error: WaslError }> {
    const adapter = adapters.get(delivery.channel);
    if (!adapter) return { error: new WaslError('channel.off', `the ${delivery.channel} channel is not running`, { temporary: true }) };
    try {
      return { adapter, message: await composer.compose(delivery) };
    } catch (caught) {
      return { error: composeFailure(caught) };
    }
  }

  /**
   * A message that could not be composed would fail the same way at every attempt: retried as
   * `delivery.unexpected`, it went on for hours before anyone saw it (a subject with a line break
   * did this). It fails at once, for the mail office to see and send again once the bug is fixed.
   * The register's own errors keep their codes.
   */
  function composeFailure(caught: unknown): WaslError {
    if (caught instanceof WaslError) return caught;
    return new WaslError('delivery.compose_failed', `could not compose the message: ${caught instanceof Error ? caught.message : String(caught)}`, { cause: caught });
  }

  /**
   * Sends one delivery. It is composed at once: for a delivery handed over at birth, that is while
   * the disk flushes the commit that stored it, time the event loop would otherwise spend idle. It
   * leaves only once that commit is on disk (if the flush fails, it goes back to the queue). The
   * slot is free once the send is done; the mark of what happened is written meanwhile (it may
   * wait a little to ride another commit), and `idle` and `stop` wait for it.
   */
  async function send(delivery: DeliveryRow, stored?: Promise<unknown>): Promise<void> {
    const [composed, isStored] = await Promise.all([composeFor(delivery), stored ? stored.then(() => true, () => false) : true]);
    if (!isStored) return requeue(delivery);
    let outcome: { externalId: string } | { error: WaslError };
    if ('error' in composed) outcome = composed;
    else {
      try {
        outcome = { externalId: (await composed.adapter.send(composed.message)).externalId };
      } catch (caught) {
        outcome = { error: toWaslError(caught, 'delivery.unexpected') };
      }
    }
    mark(record(delivery, outcome));
  }

  /** A write of what became of sends, which `idle` and `stop` wait for. */
  function mark(marking: Promise<void>): void {
    marks.add(marking);
    void marking.finally(() => {
      marks.delete(marking);
      notifyIdleIfSo();
    });
  }

  /** Returns claimed deliveries, unsent, to the queue; if that fails, they stay claimed until their lease runs out. */
  function returnToQueue(deliveries: readonly DeliveryRow[]): void {
    const ids = deliveries.map((delivery) => delivery.id);
    mark(
      database
        .write((tx) => outbox.releaseClaims(tx, { ids, holder, at: now() }), { wait: 'commit' })
        .catch((error: unknown) => logger.error({ err: error, phase: 'outbox.release', deliveries: ids }, 'could not return deliveries to the queue; they go back once their lease runs out')),
    );
  }

  /** The deliveries this worker holds: being sent, or handed over at birth and waiting for a slot. */
  function heldIds(): number[] {
    return [...inFlight.keys(), ...pools.flatMap((pool) => pool.waiting.map(({ delivery }) => delivery.id))];
  }

  /**
   * Every third of a lease: renews the leases of this worker's sends, so a long send is never taken
   * by another gateway, then returns to the queue the claims whose lease ran out, whoever held them.
   * Renewed first: a worker slow to renew must not find its own sends run out.
   */
  async function keepLeases(): Promise<void> {
    const at = now();
    const ids = heldIds();
    const { renewed, requeued } = await database.write(
      async (tx) => ({
        renewed: await outbox.renewLeases(tx, { ids, ...claimAt(at) }),
        requeued: await outbox.requeueExpiredClaims(tx, at),
      }),
      { wait: 'commit' },
    );
    const lost = ids.filter((id) => !renewed.includes(id));
    // Still held here, taken over there: whatever comes of this send, the other gateway records it.
    if (lost.length > 0) logger.warn({ phase: 'outbox.lease', deliveries: lost }, 'the lease of deliveries being sent ran out before it was renewed: another gateway sends them again');
    if (requeued > 0) {
      logger.info({ phase: 'outbox.lease', requeued }, 'deliveries whose claim ran out (a gateway stopped mid-send) are queued again');
      wake();
    }
  }

  function scheduleLeases(): void {
    if (!running) return;
    leaseTimer = setTimeout(() => {
      keepingLeases = keepLeases()
        .catch((error: unknown) => logger.error({ err: error, phase: 'outbox.lease' }, 'could not renew leases; trying again'))
        .finally(() => {
          keepingLeases = undefined;
          scheduleLeases();
        });
    }, config.leaseMs / 3);
    leaseTimer.unref?.();
  }

  /**
   * The flush of the commit that stored the delivery failed (its sender was told to try again). The
   * letter is in the register all the same: the delivery goes back to the queue, and a claim sends
   * it only once a later flush holds everything before it.
   */
  function requeue(delivery: DeliveryRow): void {
    returnToQueue([delivery]);
    wake();
  }

  async function record(delivery: DeliveryRow, outcome: { externalId: string } | { error: WaslError }): Promise<void> {
    const log = logger.child({ letter: delivery.letterId, delivery: delivery.id, channel: delivery.channel, kind: delivery.kind });
    let error: WaslError;
    if ('externalId' in outcome) {
      try {
        if (!(await recordSends({ delivery, externalId: outcome.externalId, at: now() }))) return logLost(log);
        log.info({ phase: 'outbox.sent', attempt: delivery.attempts }, 'delivered');
        // A delivered answer queues a receipt to whoever answered.
        if (delivery.kind === 'answer') wake();
        return;
      } catch (caught) {
        error = toWaslError(caught, 'delivery.unexpected');
      }
    } else {
      error = outcome.error;
    }
    const recorded = await recordFailure({ delivery, error }).catch((failure: unknown) => {
      // The mark could not be written: the row stays 'sending' and is sent again once its lease runs out.
      log.error({ phase: 'outbox.record', err: failure }, 'could not record a failed attempt');
      return true;
    });
    if (!recorded) return logLost(log);
    // A retry is due later: the worker looks ahead for it.
    wake();
    if (error.code === 'delivery.compose_failed') {
      // A bug, here or in the adapter (the email relay thread reports its own): loud, with the stack where there is one.
      log.error({ phase: 'outbox.compose', attempt: delivery.attempts, code: error.code, err: error.cause ?? error }, 'could not compose the message, a bug: the delivery is marked failed; retry it once fixed');
    } else {
      log.warn({ phase: 'outbox.failed', attempt: delivery.attempts, code: error.code, temporary: error.temporary, err: error.message }, 'delivery attempt failed');
    }
  }

  /** A mark that did not apply: the delivery's lease ran out meanwhile, and another gateway took it over. */
  function logLost(log: Logger): void {
    log.warn({ phase: 'outbox.lease' }, 'this gateway no longer held the delivery: another one sends it again and records what comes of it');
  }

  /**
   * Records sends, those that come together in one write (write-together.ts): one statement marks
   * them all, one appends their events. For each, false when this worker no longer held the
   * delivery (nothing is written for it then). Waits for the commit only: lost to a power cut, a
   * mark only makes the message go out again under its stable Message-ID.
   */
  const recordSends = writeTogether(
    database,
    async (tx, sends: readonly { delivery: DeliveryRow; externalId: string; at: Date }[]) => {
      const marked = new Set(await outbox.markSent(tx, { holder, sends: sends.map(({ delivery, externalId, at }) => ({ id: delivery.id, externalId, at })) }));
      const events: NewLetterEvent[] = [];
      const forwarded: number[] = [];
      for (const { delivery, at } of sends.filter(({ delivery }) => marked.has(delivery.id))) {
        const base = { letterId: delivery.letterId, at, departmentCode: delivery.departmentCode ?? undefined };
        if (delivery.kind === 'forward') {
          events.push({ ...base, type: 'forwarded' });
          forwarded.push(delivery.letterId);
        } else if (delivery.kind === 'receipt') {
          events.push({ ...base, type: 'receipt_sent' });
        } else {
          const answer = await letterRepository.letterById(tx, delivery.letterId);
          if (answer?.answersLetterId) events.push({ ...base, letterId: answer.answersLetterId, type: 'answer_delivered', detail: { answer: answer.number } });
          events.push({ ...base, type: 'answer_delivered' });
          // Whoever answered learns, on their own channel, that the answer reached the sender.
          if (answer?.replyChannel && answer.replyId && !answer.automated) {
            await letterRepository.insertDeliveries(tx, [
              newDelivery({ letterId: answer.id, kind: 'receipt', target: { channel: answer.replyChannel, id: answer.replyId, thread: answer.replyThread ?? undefined }, at }),
            ]);
          }
        }
      }
      await letterRepository.appendEvents(tx, events);
      await letterRepository.setStatuses(tx, { letterIds: [...new Set(forwarded)], status: 'forwarded', onlyIf: 'registered' });
      return sends.map(({ delivery }) => marked.has(delivery.id));
    },
    { wait: 'commit' },
  );

  /** Records a failed attempt (retried later, or given up); false when this worker no longer held the delivery. */
  function recordFailure({ delivery, error }: { delivery: DeliveryRow; error: WaslError }): Promise<boolean> {
    const at = now();
    const errorText = error.message.slice(0, 1000);
    const outcome = database.write(async (tx): Promise<'retry' | 'failed' | 'lost'> => {
      if (error.temporary && delivery.attempts < config.maxAttempts) {
        const delay = Math.max(error.retryAfterMs ?? 0, retryDelayMs({ attempt: delivery.attempts, baseMs: config.retryBaseMs, maxMs: config.retryMaxMs }));
        const marked = await outbox.markRetry(tx, { id: delivery.id, holder, at, nextAttemptAt: new Date(at.getTime() + delay), errorCode: error.code, error: errorText });
        return marked ? 'retry' : 'lost';
      }
      if (!(await outbox.markFailed(tx, { id: delivery.id, holder, at, errorCode: error.code, error: errorText }))) return 'lost';
      await letterRepository.appendEvent(tx, {
        letterId: delivery.letterId,
        type: delivery.kind === 'receipt' ? 'receipt_undeliverable' : 'delivery_failed',
        at,
        departmentCode: delivery.departmentCode ?? undefined,
        detail: { delivery: delivery.id, code: error.code },
      });
      return 'failed';
    }, { wait: 'commit' });
    return outcome.then((marked) => {
      if (marked === 'failed') onDeliveryFailed?.(delivery);
      return marked !== 'lost';
    });
  }

  return {
    async start() {
      if (running) return;
      running = true;
      // Not waiting for the disk: lost to a power cut, they are returned again at the next start.
      const at = now();
      const returned = await database.write(
        async (tx) => (await outbox.releaseHeldBy(tx, { holder, at })) + (await outbox.requeueExpiredClaims(tx, at)),
        { wait: 'commit' },
      );
      if (returned > 0) logger.info({ phase: 'outbox.start', returned }, 'deliveries a stopped gateway was sending are queued again');
      scheduleLeases();
      wake();
    },
    wake,
    taking: () => (running ? { holder, leaseMs: config.leaseMs } : undefined),
    take(deliveries, stored) {
      // Committed while the worker stopped: back to the queue, for the next start.
      if (!running) return returnToQueue(deliveries);
      for (const delivery of deliveries) poolOf(delivery.channel).waiting.push({ delivery, stored });
      // At once, not on the next turn: composing them overlaps the flush of their commit.
      startWaiting();
    },
    async stop(graceMs = 10_000) {
      running = false;
      if (timer) clearTimeout(timer);
      clearTimeout(leaseTimer);
      await Promise.all([claiming, keepingLeases]);
      const all = Promise.allSettled([...inFlight.values()]);
      let graceTimer: NodeJS.Timeout | undefined;
      await Promise.race([all, new Promise<void>((resolve) => (graceTimer = setTimeout(resolve, graceMs)))]);
      clearTimeout(graceTimer);
      // Finished sends are marked first: only this worker's sends still under way go back to the queue.
      await Promise.allSettled([...marks]);
      if (inFlight.size > 0 || anyWaiting()) await database.write((tx) => outbox.releaseHeldBy(tx, { holder, at: now() }), { wait: 'commit' });
      for (const pool of pools) pool.waiting = [];
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
