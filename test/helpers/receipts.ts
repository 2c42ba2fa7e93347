/** Reads a receipt as a person's browser or script would: over HTTP. */

/** The letter as it stands now: the `letter` part of `/r/{token}.json` (the signed statement is beside it). */
export async function receiptFacts<T = Record<string, unknown>>(receiptUrl: string): Promise<T> {
  const response = await fetch(`${receiptUrl}.json`);
  if (response.status !== 200) throw new Error(`${receiptUrl}.json answered ${response.status}`);
  return ((await response.json()) as { letter: T }).letter;
}
