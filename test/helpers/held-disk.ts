/** A disk the test holds: each flush of the register waits until the test finishes or fails it, until the test lets go. */
export function heldDisk({ holding: holdingAtFirst = true }: { holding?: boolean } = {}) {
  const flushes: { finish: () => void; fail: (error: Error) => void }[] = [];
  let holding = holdingAtFirst;
  return {
    flushes,
    flushToDisk: () => new Promise<void>((finish, fail) => (holding ? flushes.push({ finish, fail }) : finish())),
    /** Fails the flush held at `index` as fdatasync does when the device reports an I/O error. */
    failWithIoError(index: number) {
      flushes[index]!.fail(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    },
    /** From now on, flushes wait for the test. */
    hold() {
      holding = true;
    },
    /** Finishes the flushes held, and lets the next ones through at once. */
    letGo() {
      holding = false;
      for (const flush of flushes) flush.finish();
    },
  };
}
