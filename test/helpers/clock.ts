/**
 * A gateway clock for tests that assert a number: it runs in real time from a fixed instant, so
 * the number (`2026-A-000001`) is the same whatever the machine's date, while waits, retries and
 * timeouts still move on.
 */
export function clockFrom(instant: string): () => Date {
  const offset = Date.parse(instant) - Date.now();
  return () => new Date(Date.now() + offset);
}
