/**
 * Walks a register's hash chain and says where it was tampered with. Pure: the caller reads the
 * entries from its store, rebuilt from the stored columns (never from the stored statement, or an
 * edited column would go unseen), in registration order.
 *
 * What each check catches:
 * - an entry whose facts were edited: its recomputed hash differs from its stored `entryHash`;
 * - an entry removed: the next entry's `previousEntryHash` names an entry that is not there, and
 *   its number leaves a gap in its series (`2026-A-000007` after `2026-A-000005`);
 * - entries reordered: an entry is chained to one that now stands after it, or its number is lower
 *   than one already seen in its series;
 * - an entry slipped in: the next entry is chained to the one before it;
 * - an entry rewritten together with its hash: its stored signed statement (when given) no longer
 *   matches it or no longer verifies, since rewriting it needs the office's private key;
 * - the last entries removed: `lastSequences` (the register's counters) name numbers never seen.
 */
import type { KeyObject } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import { entryHashOf, registerEntryOf, signatureHolds, type ChainedEntry } from './statement.js';

export type ChainProblemKind = 'altered' | 'removed' | 'reordered' | 'inserted';

/** An entry that does not hash right is edited, whatever else it looks like; a skipped number may follow from any tampering. */
const PRIORITY: Record<ChainProblemKind, number> = { altered: 3, inserted: 2, reordered: 1, removed: 0 };

export interface ChainProblem {
  kind: ChainProblemKind;
  /** The entry at fault; for a removal, the entry found where the missing one should be (absent at the end). */
  number: string | undefined;
  /** For a removal shown by the numbering: the first sequence number missing. */
  missing?: { series: string; sequence: number };
  /** Index in the given entries of the entry at fault (entries.length for entries missing at the end). */
  position: number;
  message: string;
}

export interface ChainReport {
  ok: boolean;
  checked: number;
  /** In register order: the first one is the first place the register was tampered with. */
  problems: ChainProblem[];
}

/** An entry of either version, as the register stores it. */
export type StoredEntry = ChainedEntry & {
  /** The numbering series the entry belongs to (e.g. `2026-A`: year and direction), numbered 1, 2, 3... */
  series: string;
  sequence: number;
  /** The statement signed at registration, as stored, to catch an entry rewritten with its hash. */
  signed?: { canonicalStatement: string; signature: string } | undefined;
};

export function verifyChain({
  entries,
  publicKey,
  lastSequences = {},
}: {
  entries: readonly StoredEntry[];
  /** Needed to check the stored signed statements; without it they are compared but not verified. */
  publicKey?: KeyObject | undefined;
  /** The last sequence taken per series (`{ '2026-A': 123 }`), from the register's counters. */
  lastSequences?: Record<string, number>;
}): ChainReport {
  // One problem per entry: the most telling one, since one tampering trips several checks.
  const problems = new Map<number, ChainProblem>();
  const report = (problem: ChainProblem) => {
    const known = problems.get(problem.position);
    if (!known || PRIORITY[problem.kind] > PRIORITY[known.kind]) problems.set(problem.position, problem);
  };
  const positionOfHash = new Map(entries.map((entry, position) => [entry.entryHash, position]));
  /** Hashes some entry was chained to: an entry no other follows is either the last one or slipped in. */
  const chainedTo = new Set(entries.map((entry) => entry.previousEntryHash));
  const lastSeen = new Map<string, number>();

  entries.forEach((entry, position) => {
    if (entryHashOf(entry) !== entry.entryHash) {
      report({ kind: 'altered', number: entry.number, position, message: `${entry.number} was edited after registration: its facts no longer match its entry hash` });
    }
    if (entry.signed) {
      const problem = signedStatementProblem({ entry, signed: entry.signed, publicKey });
      if (problem) report({ kind: 'altered', number: entry.number, position, message: `${entry.number} was rewritten after registration: ${problem}` });
    }

    const expectedPrevious = position === 0 ? null : entries[position - 1]!.entryHash;
    const previousInSeries = lastSeen.get(entry.series) ?? 0;
    const numbersSkipped = entry.sequence > previousInSeries + 1;
    if (entry.previousEntryHash !== expectedPrevious) {
      const predecessor = entry.previousEntryHash === null ? undefined : positionOfHash.get(entry.previousEntryHash);
      if (predecessor !== undefined && predecessor > position) {
        report({ kind: 'reordered', number: entry.number, position, message: `${entry.number} stands before ${entries[predecessor]!.number}, which was registered before it` });
      } else if (predecessor !== undefined && !chainedTo.has(entries[predecessor + 1]!.entryHash)) {
        const intruder = entries[predecessor + 1]!;
        report({ kind: 'inserted', number: intruder.number, position: predecessor + 1, message: `${intruder.number} is not part of the chain: ${entry.number} was registered right after ${entries[predecessor]!.number}` });
      } else if (predecessor !== undefined) {
        report({ kind: 'reordered', number: entry.number, position, message: `${entry.number} was registered right after ${entries[predecessor]!.number}, not after ${entries[position - 1]!.number}` });
      } else if (!numbersSkipped) {
        // When numbers were skipped, the numbering check below names the missing entry instead.
        report({ kind: 'removed', number: entry.number, position, message: `the entry ${entry.number} was chained to is no longer in the register: it was removed, or the entry before ${entry.number} was rewritten with a new hash` });
      }
    }

    if (numbersSkipped) {
      const missing = { series: entry.series, sequence: previousInSeries + 1 };
      report({ kind: 'removed', number: entry.number, missing, position, message: `${describe(missing)} is missing: the register goes on at ${entry.number}` });
    } else if (entry.sequence <= previousInSeries) {
      report({ kind: 'reordered', number: entry.number, position, message: `${entry.number} stands after a higher number of its series` });
    }
    lastSeen.set(entry.series, Math.max(previousInSeries, entry.sequence));
  });

  for (const [series, last] of Object.entries(lastSequences)) {
    const seen = lastSeen.get(series) ?? 0;
    if (last > seen) {
      const missing = { series, sequence: seen + 1 };
      report({ kind: 'removed', number: undefined, missing, position: entries.length, message: `${describe(missing)} is missing: sequences up to ${last} of ${series} were taken` });
    }
  }

  const ordered = [...problems.values()].sort((left, right) => left.position - right.position);
  return { ok: ordered.length === 0, checked: entries.length, problems: ordered };
}

function signedStatementProblem({
  entry,
  signed,
  publicKey,
}: {
  entry: ChainedEntry;
  signed: NonNullable<StoredEntry['signed']>;
  publicKey: KeyObject | undefined;
}): string | undefined {
  let statement: ChainedEntry;
  try {
    statement = JSON.parse(signed.canonicalStatement) as ChainedEntry;
  } catch {
    return 'its stored statement is not JSON';
  }
  if (publicKey && !signatureHolds({ statement, signature: Buffer.from(signed.signature, 'base64url'), publicKey })) {
    return 'its stored statement does not carry the office signature';
  }
  const sealed = (value: ChainedEntry) => canonicalJson({ ...registerEntryOf(value), entryHash: value.entryHash });
  try {
    return sealed(statement) === sealed(entry) ? undefined : 'its facts differ from the statement signed at registration';
  } catch {
    return 'its stored statement is not a register entry';
  }
}

function describe({ series, sequence }: { series: string; sequence: number }): string {
  return `entry ${sequence} of ${series}`;
}
