/**
 * Gateways starting together on one data directory (the workers of `wasl start --workers`, or
 * gateways sharing a PostgreSQL register and a mounted data directory) must all end up with one
 * signing key and one answer secret: receipts signed by one must verify with the key another
 * publishes, and answer links made by one must open on another.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/paths.js';

const run = promisify(execFile);
const TSX = pathToFileURL(createRequire(join(PROJECT_ROOT, 'package.json')).resolve('tsx')).href;
const source = (path: string) => JSON.stringify(pathToFileURL(join(PROJECT_ROOT, path)).href);

it('processes starting together on one data directory all take the same signing key and answer secret, and leave no half-made file', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'wasl-keys-'));
  try {
    const script = `
      import { loadOrCreateSigningKey } from ${source('src/evidence/signing-key.ts')};
      import { loadOrCreateSecret } from ${source('src/receipts/tokens.ts')};
      const key = loadOrCreateSigningKey({ dataDir: process.argv[1] });
      const secret = loadOrCreateSecret({ dataDir: process.argv[1], env: {} });
      process.stdout.write(JSON.stringify({ key: key.publicKeyPem, secret: secret.toString('hex') }));`;
    const outputs = await Promise.all(
      Array.from({ length: 6 }, () => run(process.execPath, ['--import', TSX, '--input-type=module', '-e', script, dataDir]).then(({ stdout }) => JSON.parse(stdout) as { key: string; secret: string })),
    );
    expect(new Set(outputs.map((output) => output.key)).size).toBe(1);
    expect(new Set(outputs.map((output) => output.secret)).size).toBe(1);
    expect(outputs[0]!.secret).toHaveLength(64);
    expect(readdirSync(dataDir, { recursive: true }).map(String).sort()).toEqual(['keys', 'keys/receipt-signing.key', 'keys/receipt-signing.pub', 'secret.key']);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
