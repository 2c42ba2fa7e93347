import { describe, expect, it } from 'vitest';
import { writeTogether } from '../../src/db/write-together.js';
import * as letters from '../../src/letters/letters.repository.js';
import { temporarySqliteRegister } from '../helpers/register-file.js';

/** A write of sequence numbers, as registering takes them: one per item, refused for a negative item. */
function numbering() {
  const database = temporarySqliteRegister(async () => {});
  const groups: number[][] = [];
  const take = writeTogether(database, async (tx, items: readonly number[]) => {
    groups.push([...items]);
    if (items.some((item) => item < 0)) throw new Error(`item ${items.find((item) => item < 0)} refused`);
    const last = await letters.takeSequences(tx, { year: 2026, direction: 'A', count: items.length });
    return items.map((item, index) => ({ item, sequence: last - items.length + 1 + index }));
  });
  return { database, groups, take };
}

describe('writes joined while they wait for their turn', () => {
  it('run as one write, each item answered with its own result, in the order they came', async () => {
    const { groups, take } = numbering();
    const results = await Promise.all([take(10), take(11), take(12)]);
    expect(results).toEqual([
      { item: 10, sequence: 1 },
      { item: 11, sequence: 2 },
      { item: 12, sequence: 3 },
    ]);
    expect(groups).toEqual([[10, 11, 12]]);
    // Those that come once a write has started wait for the next one.
    const first = take(13);
    await Promise.resolve();
    expect(await Promise.all([first, take(14)])).toEqual([
      { item: 13, sequence: 4 },
      { item: 14, sequence: 5 },
    ]);
  });

  it('tell each item when its write is committed', async () => {
    const { take } = numbering();
    const committed: number[] = [];
    await Promise.all([take(1, (result) => committed.push(result.sequence)), take(2, (result) => committed.push(result.sequence))]);
    expect(committed).toEqual([1, 2]);
  });

  it('do not let one bad item sink the others: each is written again alone, and only the bad one fails', async () => {
    const { database, groups, take } = numbering();
    const outcomes = await Promise.allSettled([take(1), take(-1), take(2)]);
    expect(outcomes.map((outcome) => (outcome.status === 'fulfilled' ? outcome.value.item : (outcome.reason as Error).message))).toEqual([1, 'item -1 refused', 2]);
    // The joined write (run again by the group commit) left nothing behind; the numbers went to the good items alone, without a gap.
    expect(groups.slice(-3)).toEqual([[1], [-1], [2]]);
    expect(await database.write((tx) => letters.takeSequences(tx, { year: 2026, direction: 'A', count: 1 }))).toBe(3);
  });

  it('fail all their items when the register is closed before their turn', async () => {
    const { database, take } = numbering();
    await database.close();
    const outcomes = await Promise.allSettled([take(1), take(2)]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'rejected']);
  });
});
