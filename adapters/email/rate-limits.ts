/**
 * The email adapter's own limits: the open sessions of each client, which are this process's
 * connections (the rates per client and per sender are the core's RateLimits), and the wait told
 * to a client that is refused.
 */

/** Open sessions per client address. */
export function createSessionCounter() {
  const open = new Map<string, number>();
  return {
    count: (client: string) => open.get(client) ?? 0,
    opened(client: string): void {
      open.set(client, (open.get(client) ?? 0) + 1);
    },
    closed(client: string): void {
      const left = (open.get(client) ?? 1) - 1;
      if (left > 0) open.set(client, left);
      else open.delete(client);
    },
    get size() {
      return open.size;
    },
  };
}

export function describeWait(ms: number): string {
  const seconds = Math.max(1, Math.ceil(ms / 1000));
  return seconds < 120 ? `${seconds} seconds` : `${Math.ceil(seconds / 60)} minutes`;
}
