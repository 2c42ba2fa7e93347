/**
 * A throwaway self-signed certificate for a test file's TLS server, made by openssl before the
 * tests and removed after them (vitest's beforeAll/afterAll in the suite that calls this).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

export function selfSignedCertificate(commonName: string): { key: string; cert: string } {
  const directory = mkdtempSync(join(tmpdir(), 'wasl-tls-'));
  const key = join(directory, 'tls.key');
  const cert = join(directory, 'tls.crt');
  beforeAll(() => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', `/CN=${commonName}`], { stdio: 'ignore' });
  });
  afterAll(() => rmSync(directory, { recursive: true, force: true }));
  return { key, cert };
}
