/** STARTTLS is offered when a certificate is configured, and letters travel encrypted. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { SmtpSession } from '../helpers/smtp-client.js';

describe('STARTTLS', () => {
  const directory = mkdtempSync(join(tmpdir(), 'wasl-tls-'));
  const key = join(directory, 'smtp.key');
  const cert = join(directory, 'smtp.crt');
  let test: TestGateway;

  beforeAll(async () => {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=wasl.local'], { stdio: 'ignore' });
    test = await startTestGateway({ config: { adapters: { email: { smtp: { tls: { key, cert } } } } } });
  });
  afterAll(async () => {
    await test.stop();
    rmSync(directory, { recursive: true, force: true });
  });

  it('is offered when a certificate is configured, and a letter sent over TLS is registered', async () => {
    const { session } = await SmtpSession.open(test.smtpPort);
    const ehlo = await session.command('EHLO client.test');
    await session.quit();
    expect(ehlo.text).toContain('STARTTLS');

    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: test.smtpPort, requireTLS: true, tls: { rejectUnauthorized: false } });
    const info = await transport.sendMail({ from: 'tls@citizen.test', to: 'rh@wasl.local', subject: 'Chiffré', text: 'Bonjour' });
    transport.close();
    expect(info.response).toMatch(/^250 2\.6\.0 Registered as \d{4}-A-000001$/);
  });

  it('is not offered without a certificate', async () => {
    const plain = await startTestGateway();
    const { session } = await SmtpSession.open(plain.smtpPort);
    const ehlo = await session.command('EHLO client.test');
    await session.quit();
    await plain.stop();
    expect(ehlo.text).not.toContain('STARTTLS');
  });
});
