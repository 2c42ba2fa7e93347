#!/usr/bin/env node
/**
 * Reads a V8 .cpuprofile (from `BENCH_NODE_OPTIONS="--cpu-prof --cpu-prof-dir=DIR" npm run bench`)
 * and prints where the gateway's CPU time went: the functions with the most self time, and the
 * total time spent under functions of interest (inclusive), optionally per letter.
 *
 *   node bench/profile-summary.mjs FILE.cpuprofile [--letters N] [--top 25] [--under NAME] [--match NAME ...]
 *
 * --under NAME limits the self-time table to samples taken under a frame whose name or file
 * contains NAME; --match NAME adds a line with the inclusive time under such frames.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { letters: { type: 'string' }, top: { type: 'string', default: '25' }, under: { type: 'string' }, match: { type: 'string', multiple: true } },
});
if (positionals.length !== 1) {
  process.stderr.write('usage: node bench/profile-summary.mjs FILE.cpuprofile [--letters N] [--top 25] [--under NAME] [--match NAME ...]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(positionals[0], 'utf8'));
const letters = values.letters ? Number(values.letters) : undefined;

const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const parentOf = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

// Each sample is charged the interval that follows it (timeDeltas are in microseconds).
const selfMicros = new Map();
profile.samples.forEach((id, index) => {
  const delta = profile.timeDeltas[index + 1] ?? 0;
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + delta);
});
const totalMicros = [...selfMicros.values()].reduce((sum, value) => sum + value, 0);

const where = (frame) => {
  const path = frame.url.replace(/^file:\/\//, '');
  const file = path.includes('/node_modules/') ? path.replace(/^.*?\/node_modules\//, 'npm:') : path.replace(/^.*\/(dist)\//, '$1/');
  return `${frame.functionName || '(anonymous)'} ${file ? `${file}:${frame.lineNumber + 1}` : ''}`.trim();
};

/** Whether a sample's stack holds a frame whose description contains `pattern`. */
function isUnder({ id, pattern }) {
  for (let cursor = id; cursor !== undefined; cursor = parentOf.get(cursor)) {
    if (where(nodes.get(cursor).callFrame).includes(pattern)) return true;
  }
  return false;
}

const bySelf = new Map();
for (const [id, micros] of selfMicros) {
  if (values.under && !isUnder({ id, pattern: values.under })) continue;
  const key = where(nodes.get(id).callFrame);
  bySelf.set(key, (bySelf.get(key) ?? 0) + micros);
}

const perLetter = (micros) => (letters ? `  ${(micros / 1000 / letters).toFixed(3)} ms/letter` : '');
const line = (micros, label) => `${(micros / 1000).toFixed(0).padStart(8)} ms ${((100 * micros) / totalMicros).toFixed(1).padStart(5)}%${perLetter(micros)}  ${label}`;

process.stdout.write(`sampled ${(totalMicros / 1e6).toFixed(2)} s${perLetter(totalMicros)}\n\nself time${values.under ? ` under ${values.under}` : ''}, top ${values.top}:\n`);
for (const [key, micros] of [...bySelf].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) process.stdout.write(`${line(micros, key)}\n`);

/** Inclusive time under frames whose function name or file contains one of the patterns (each sample counted once per pattern). */
const patterns = values.match ?? [];
if (patterns.length > 0) {
  process.stdout.write('\ninclusive time under:\n');
  for (const pattern of patterns) {
    let micros = 0;
    for (const [id, self] of selfMicros) if (isUnder({ id, pattern })) micros += self;
    process.stdout.write(`${line(micros, pattern)}\n`);
  }
}
