/**
 * /healthz: whether this gateway can reach its register. A load balancer or systemd's watchdog
 * asks it; a register that fails or hangs makes the answer 503, so traffic moves elsewhere.
 */

/** A trivial query on the register; rejects when the register cannot answer. */
export type RegisterPing = () => Promise<void>;

export interface HealthAnswer {
  status: 200 | 503;
  body: { status: 'ok'; database: 'reachable' } | { status: 'unavailable'; database: 'unreachable' };
}

/** A register that takes longer than this to answer a trivial query is as good as down to a balancer. */
const PING_TIMEOUT_MS = 2000;

export async function checkHealth(ping: RegisterPing, { timeoutMs = PING_TIMEOUT_MS }: { timeoutMs?: number } = {}): Promise<HealthAnswer> {
  let timer: NodeJS.Timeout | undefined;
  const tooSlow = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the register did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    // A ping that throws synchronously counts as down too.
    await Promise.race([Promise.resolve().then(ping), tooSlow]);
    return { status: 200, body: { status: 'ok', database: 'reachable' } };
  } catch {
    return { status: 503, body: { status: 'unavailable', database: 'unreachable' } };
  } finally {
    clearTimeout(timer);
  }
}
