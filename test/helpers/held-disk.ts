/** A disk the test holds: each flush of the register waits until the test finishes or fails it, until the test lets go. */
export function heldDisk() {
  const flushes: { finish: () => void; fail: (error: Error) => void }[] = [];
  let holding = true;
  return {
    flushes,
    flushToDisk: () => new Promise<void>((finish, fail) => (holding ? flushes.push({ finish, fail }) : finish())),
    /** Finishes the flushes held, and lets the next ones through at once. */
    letGo() {
      holding = false;
      for (const flush of flushes) flush.finish();
    },
  };
}
