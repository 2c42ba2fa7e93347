/**
 * A register holds entries of both versions: those sealed before senders' verdicts were recorded
 * (version 1) and those after (version 2). Each is hashed in its own form, and the chain runs
 * across the change.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyChain, type StoredEntry } from '../../src/evidence/register-chain.js';
import { loadOrCreateSigningKey } from '../../src/evidence/signing-key.js';
import { buildStatement, chainEntry, entryHashOf, registerEntryOf, signStatement, type ChainedEntry, type RegisterEntry } from '../../src/evidence/statement.js';
import { FIRST_LETTER, OFFICE, receiptUrlOf } from '../fixtures/evidence/sample-receipts.js';

const dataDir = mkdtempSync(join(tmpdir(), 'wasl-versions-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const key = loadOrCreateSigningKey({ dataDir });

function stored(entry: ChainedEntry, sequence: number): StoredEntry {
  const signed = signStatement({ statement: buildStatement({ entry, office: OFFICE, keyId: key.keyId, receiptUrl: receiptUrlOf(entry.number) }), key });
  return { ...entry, series: '2026-A', sequence, signed: { canonicalStatement: signed.canonicalStatement, signature: signed.signature.value } };
}

/** An entry as the register sealed it before version 2: no verdicts in its sender. */
function versionOneEntry(): ChainedEntry {
  const entry: RegisterEntry = registerEntryOf({
    ...FIRST_LETTER,
    version: 1,
    registeredAt: FIRST_LETTER.registeredAt.toISOString(),
    sender: { id: FIRST_LETTER.sender.id, name: FIRST_LETTER.sender.name },
    previousEntryHash: null,
  });
  return { ...entry, entryHash: entryHashOf(entry) };
}

describe('a register that spans the change of entry version', () => {
  const old = versionOneEntry();
  const next = chainEntry({
    facts: {
      ...FIRST_LETTER,
      number: '2026-A-000002',
      sender: { id: 'attacker@evil.example', name: 'Director General <dg@ministry.example>', authentication: { verdict: 'unverified', fromDomain: 'evil.example', spf: { result: 'fail', domain: 'evil.example' }, dkim: [], dmarc: { result: 'none', policy: null } } },
    },
    previousEntryHash: old.entryHash,
  });

  it('verifies, each entry in its own form', () => {
    expect(old).not.toHaveProperty('sender.authentication');
    expect(next.version).toBe(2);
    expect(verifyChain({ entries: [stored(old, 1), stored(next, 2)], publicKey: key.publicKey })).toEqual({ ok: true, checked: 2, problems: [] });
  });

  it('catches an old entry given verdicts it was never sealed with', () => {
    const relabelled = { ...stored(old, 1), version: 2 as const, sender: { ...old.sender, authentication: null } };
    expect(verifyChain({ entries: [relabelled, stored(next, 2)], publicKey: key.publicKey }).problems).toEqual([expect.objectContaining({ kind: 'altered', number: old.number })]);
  });
});
