import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyChain, type StoredEntry } from '../../src/evidence/register-chain.js';
import { loadOrCreateSigningKey } from '../../src/evidence/signing-key.js';
import { entryHashOf } from '../../src/evidence/statement.js';
import { sampleRegister } from '../fixtures/evidence/sample-receipts.js';

const dataDir = mkdtempSync(join(tmpdir(), 'wasl-chain-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const key = loadOrCreateSigningKey({ dataDir });
const register = sampleRegister(key);
const counters = { '2026-A': 4, '2026-D': 1 };
const numbers = (entries: StoredEntry[]) => entries.map((entry) => entry.number);

/** What a person running `register verify` sees first. */
function firstProblem(entries: StoredEntry[]) {
  const report = verifyChain({ entries, publicKey: key.publicKey, lastSequences: counters });
  expect(report.ok).toBe(false);
  return report.problems[0]!;
}

describe('the register hash chain', () => {
  it('holds for a register as it was written: each entry sealed and chained to the one before', () => {
    expect(numbers(register)).toEqual(['2026-A-000001', '2026-A-000002', '2026-D-000001', '2026-A-000003', '2026-A-000004']);
    expect(register[0]!.previousEntryHash).toBeNull();
    expect(register[3]!.previousEntryHash).toBe(register[2]!.entryHash);
    expect(verifyChain({ entries: register, publicKey: key.publicKey, lastSequences: counters })).toEqual({ ok: true, checked: 5, problems: [] });
  });

  it('seals the same facts to the same hash, whatever order the store gives the departments in', () => {
    const entry = register[0]!;
    expect(entry.departments).toEqual(['RH', 'URB']);
    expect(entryHashOf({ ...entry, departments: ['URB', 'RH'] })).toBe(entry.entryHash);
  });

  it('catches an entry edited in place, and names it', () => {
    const edited = register.map((entry) => (entry.number === '2026-A-000002' ? { ...entry, subject: 'Permis de démolir' } : entry));
    expect(firstProblem(edited)).toMatchObject({ kind: 'altered', number: '2026-A-000002', position: 1 });
  });

  it('catches an entry rewritten together with its hash, through its signed statement', () => {
    const rewritten = register.map((entry) => {
      if (entry.number !== '2026-A-000002') return entry;
      const changed = { ...entry, sender: { id: 'someone.else@example.org', name: null, authentication: null } };
      return { ...changed, entryHash: entryHashOf(changed) };
    });
    expect(firstProblem(rewritten)).toMatchObject({ kind: 'altered', number: '2026-A-000002', message: expect.stringMatching(/signed at registration/) });
  });

  it('catches a whole tail rewritten with new hashes, since the statements cannot be re-signed without the key', () => {
    const forged: StoredEntry[] = [];
    for (const entry of register) {
      const changed = { ...entry, previousEntryHash: forged.at(-1)?.entryHash ?? null, subject: entry.number === '2026-A-000002' ? 'forged' : entry.subject };
      forged.push({ ...changed, entryHash: entryHashOf(changed) });
    }
    expect(firstProblem(forged)).toMatchObject({ kind: 'altered', number: '2026-A-000002', position: 1 });
  });

  it('catches an entry deleted from the middle, and names the missing number', () => {
    const deleted = register.filter((entry) => entry.number !== '2026-A-000003');
    expect(firstProblem(deleted)).toMatchObject({ kind: 'removed', number: '2026-A-000004', missing: { series: '2026-A', sequence: 3 }, position: 3 });
  });

  it('catches an entry deleted from another series, where no number is skipped at that place', () => {
    const deleted = register.filter((entry) => entry.number !== '2026-D-000001');
    expect(firstProblem(deleted)).toMatchObject({ kind: 'removed', number: '2026-A-000003', position: 2 });
  });

  it('catches the last entry deleted, from the register counters', () => {
    expect(firstProblem(register.slice(0, -1))).toMatchObject({ kind: 'removed', number: undefined, missing: { series: '2026-A', sequence: 4 }, position: 4 });
  });

  it('catches the first entry deleted', () => {
    expect(firstProblem(register.slice(1))).toMatchObject({ kind: 'removed', position: 0 });
  });

  it('catches entries swapped, and names the first out of place', () => {
    const swapped = [register[0]!, register[3]!, register[2]!, register[1]!, register[4]!];
    expect(firstProblem(swapped)).toMatchObject({ kind: 'reordered', number: '2026-A-000003', position: 1 });
  });

  it('catches an entry slipped in between two others', () => {
    const intruder: StoredEntry = { ...register[1]!, number: '2026-A-000099', sequence: 99, previousEntryHash: register[0]!.entryHash, signed: undefined };
    const sealed = { ...intruder, entryHash: entryHashOf(intruder) };
    const inserted = [register[0]!, sealed, ...register.slice(1)];
    expect(firstProblem(inserted)).toMatchObject({ kind: 'inserted', number: '2026-A-000099', position: 1 });
  });

  it('without the public key still compares each entry with its stored statement', () => {
    const edited = register.map((entry) => (entry.number === '2026-A-000003' ? { ...entry, departments: ['URB'], entryHash: entryHashOf({ ...entry, departments: ['URB'] }) } : entry));
    const report = verifyChain({ entries: edited });
    expect(report.problems[0]).toMatchObject({ kind: 'altered', number: '2026-A-000003' });
  });
});
