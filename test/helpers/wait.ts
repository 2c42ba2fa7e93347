/**
 * Polls a condition until it holds: the tests wait for outcomes, never for fixed times. The
 * deadline only bounds how long a failure takes to be reported, so it is generous: on a loaded
 * machine (two cores, several suites at once) a gateway's first forward, whose thread loads its
 * code first, took over 10 s. It stays below the tests' 30 s limit, so that a failure names what
 * it waited for.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, { timeoutMs = 20_000, intervalMs = 20, what = 'condition' }: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
