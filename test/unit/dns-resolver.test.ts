import { describe, expect, it } from 'vitest';
import { cachingDnsResolver, systemDnsResolver } from '../../adapters/email/authentication.js';

describe('the DNS resolver used for SPF, DKIM and DMARC', () => {
  // No DNS server listens there: a name that reached it would fail as refused or timed out, not as ENOTFOUND.
  const resolve = cachingDnsResolver({ resolve: systemDnsResolver({ servers: ['127.0.0.1:9'], timeoutMs: 2_000 }), timeoutMs: 2_000, failureTtlMs: 60_000 });

  it('refuses special-use names (.test, .example, .invalid, .local...) at once, without asking any server', async () => {
    for (const name of ['citizen.test', '_dmarc.citizen.test', 'mail.example', 'x.invalid', 'printer.local', 'home.arpa']) {
      await expect(resolve(name, 'TXT')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    }
  });

  it('gives the same refusal to the same question asked again', async () => {
    const first = resolve('citizen.test', 'TXT');
    const again = resolve('CITIZEN.test.', 'TXT');
    await expect(first).rejects.toMatchObject({ code: 'ENOTFOUND' });
    expect(again).toBe(first);
  });
});
