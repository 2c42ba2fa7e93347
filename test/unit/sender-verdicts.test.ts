/**
 * When a sender counts as verified: the From address's domain must be proved by DMARC, or by a
 * DKIM signature or an SPF pass of that very domain; a name, another domain's signature or another
 * domain's SPF proves nothing. SPF, DKIM and DMARC are mailauth's, from an in-memory DNS.
 */
import { generateKeyPairSync } from 'node:crypto';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import { createSenderAuthenticator } from '../../adapters/email/authentication.js';
import { emailToLetter } from '../../adapters/email/to-letter.js';
import type { EmailAuthentication } from '../../src/channels/port.js';
import { senderLine } from '../../src/letters/sender-authenticity.js';
import { dnsFromRecords } from '../fixtures/email/offline-dns.js';

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const dkimRecord = `v=DKIM1; k=rsa; p=${keys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
const dns = dnsFromRecords({
  'sel._domainkey.citizen.test': [dkimRecord],
  'sel._domainkey.signer.test': [dkimRecord],
  'citizen.test': ['v=spf1 ip4:192.0.2.1 -all'],
  'bulk.test': ['v=spf1 ip4:192.0.2.1 -all'],
  'bank.test': ['v=spf1 -all'],
  '_dmarc.bank.test': ['v=DMARC1; p=reject'],
});
const verifySender = createSenderAuthenticator({ resolver: dns.resolver, hostname: 'wasl.local', budgetMs: 60_000 });

async function letter({ from, signedBy }: { from: string; signedBy?: string }): Promise<Buffer> {
  const transport = nodemailer.createTransport({
    streamTransport: true,
    buffer: true,
    newline: 'windows',
    ...(signedBy ? { dkim: { domainName: signedBy, keySelector: 'sel', privateKey: keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() } } : {}),
  });
  return ((await transport.sendMail({ from, to: 'rh@wasl.local', subject: 'Demande', text: 'Bonjour' })) as unknown as { message: Buffer }).message;
}

async function verdictOf({ from, signedBy, client, mailFrom }: { from: string; signedBy?: string; client: string; mailFrom: string }) {
  return verifySender({ raw: await letter({ from, signedBy }), clientAddress: client, helo: 'mail.test', mailFrom });
}

describe('a sender is verified', () => {
  it('by a DKIM signature of the From domain, even where the domain publishes no DMARC record', async () => {
    const { authentication } = await verdictOf({ from: 'amina@citizen.test', signedBy: 'citizen.test', client: '198.51.100.9', mailFrom: 'amina@citizen.test' });
    expect(authentication).toMatchObject({ verdict: 'verified', spf: 'fail', dkim: 'pass', dkimSignatures: [{ domain: 'citizen.test', result: 'pass' }], dmarc: 'none' });
  });

  it('by an SPF pass for the From domain itself', async () => {
    const { authentication } = await verdictOf({ from: 'amina@citizen.test', client: '192.0.2.1', mailFrom: 'amina@citizen.test' });
    expect(authentication).toMatchObject({ verdict: 'verified', spf: 'pass', spfDomain: 'citizen.test', dkim: 'none' });
  });
});

describe('a sender is not verified', () => {
  it('by the DKIM signature of another domain', async () => {
    const { authentication } = await verdictOf({ from: 'amina@citizen.test', signedBy: 'signer.test', client: '198.51.100.9', mailFrom: 'amina@citizen.test' });
    expect(authentication).toMatchObject({ verdict: 'unverified', dkimSignatures: [{ domain: 'signer.test', result: 'pass' }] });
  });

  it('by an SPF pass for another envelope domain', async () => {
    const { authentication } = await verdictOf({ from: 'amina@citizen.test', client: '192.0.2.1', mailFrom: 'news@bulk.test' });
    expect(authentication).toMatchObject({ verdict: 'unverified', spf: 'pass', spfDomain: 'bulk.test', domain: 'citizen.test' });
  });

  it('when DMARC fails, and the domain’s policy is reported to the intake', async () => {
    const verdicts = await verdictOf({ from: 'service@bank.test', client: '198.51.100.9', mailFrom: 'service@bank.test' });
    expect(verdicts).toMatchObject({ authentication: { verdict: 'unverified', dmarc: 'fail', dmarcPolicy: 'reject' }, dmarcFailed: true });
  });

  it('when the letter names another From address than the one the checks proved', async () => {
    const parsed = await simpleParser(Buffer.from('From: someone@other.test\r\nSubject: x\r\n\r\nx\r\n'));
    const proved: EmailAuthentication = { verdict: 'verified', domain: 'citizen.test', spf: 'pass', spfDomain: 'citizen.test', dkim: 'none', dkimSignatures: [], dmarc: 'pass', dmarcPolicy: 'none' };
    const mapped = emailToLetter({ parsed, raw: Buffer.alloc(0), envelope: { mailFrom: 'someone@other.test', rcptTo: [] }, receivedAt: new Date(0), authentication: proved });
    expect(mapped.authentication?.verdict).toBe('unverified');
  });
});

describe('the sender as people read it', () => {
  it('shows the real address beside a name, and quotes and escapes a name that looks like an address', () => {
    expect(senderLine({ id: 'amina@citizen.test', name: 'Amina Benali' })).toBe('Amina Benali <amina@citizen.test>');
    expect(senderLine({ id: 'attacker@evil.example', name: 'Director General <dg@ministry.example>' })).toBe('"Director General <dg@ministry.example>" <attacker@evil.example>');
    expect(senderLine({ id: 'x@evil.example', name: 'dg@ministry.example' })).toBe('"dg@ministry.example" <x@evil.example>');
    expect(senderLine({ id: 'x@evil.example', name: 'A "B" \\ C' })).toBe('"A \\"B\\" \\\\ C" <x@evil.example>');
    expect(senderLine({ id: 'x@evil.example', name: null })).toBe('x@evil.example');
  });
});
