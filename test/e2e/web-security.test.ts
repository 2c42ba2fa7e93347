/**
 * The web server as a hostile page or a network neighbour meets it: no page can be framed, loads
 * anything but its own style, or leaks its address in a Referer; the built-in mailbox stays on
 * this machine unless the operator says otherwise, and a listen address off loopback is said at start.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { citizenEmail } from '../helpers/messages.js';
import { createLogger } from '../../src/logger.js';
import { gatewayPerTest, type TestGateway } from '../helpers/gateway.js';

const start = gatewayPerTest();

const letter = citizenEmail({
  externalId: '<web-security@citizen.test>',
  receivedAt: new Date('2026-11-24T09:00:00Z'),
  sender: 'amina@citizen.test',
  senderName: 'Amina Benali',
  to: ['rh@wasl.local'],
  subject: 'Demande d’attestation',
  text: 'Bonjour',
});

/** The web server's address as seen from this machine, whatever address it listens on. */
const loopbackUrl = (test: TestGateway) => `http://127.0.0.1:${new URL(test.httpUrl).port}`;

function loggerIntoLines() {
  const lines: { level: number; msg: string }[] = [];
  const logger = createLogger('info', { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) });
  return { logger, lines };
}

describe('every response of the web server', () => {
  it('forbids framing, type guessing and referrers, and lets nothing load: pages, receipts, JSON, the key, errors', async () => {
    const test = await start({ relay: false });
    const { receiptUrl } = await test.gateway.port.accept(letter);
    const paths = ['/', '/healthz', '/.well-known/wasl-receipt-key.pem', '/mailbox', '/nowhere', new URL(receiptUrl).pathname, `${new URL(receiptUrl).pathname}.json`];
    for (const path of paths) {
      const response = await fetch(`${test.httpUrl}${path}`);
      const headers = Object.fromEntries(['x-frame-options', 'x-content-type-options', 'referrer-policy'].map((name) => [name, response.headers.get(name)]));
      expect({ path, ...headers }).toEqual({ path, 'x-frame-options': 'DENY', 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
      const policy = response.headers.get('content-security-policy') ?? '';
      expect(policy, path).toContain("default-src 'none'");
      expect(policy, path).toContain("frame-ancestors 'none'");
    }
  });

  it("lets the receipt's PDF be shown by the browser's viewer, never framed", async () => {
    const test = await start({ relay: false });
    const { receiptUrl } = await test.gateway.port.accept(letter);
    const response = await fetch(`${receiptUrl}.pdf`);
    expect(response.headers.get('content-type')).toBe('application/pdf');
    expect(response.headers.get('content-security-policy')).toBe("frame-ancestors 'none'");
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('lets the receipt page use its own inline style, named by its hash, and no script at all', async () => {
    const test = await start({ relay: false });
    const { receiptUrl } = await test.gateway.port.accept(letter);
    const response = await fetch(receiptUrl);
    const html = await response.text();
    const styles = [...html.matchAll(/<style>([\s\S]*?)<\/style>/g)].map(([, css = '']) => `'sha256-${createHash('sha256').update(css).digest('base64')}'`);
    expect(styles).toHaveLength(1);
    const policy = response.headers.get('content-security-policy')!;
    expect(policy).toBe(`default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'; style-src ${styles[0]}`);
    expect(html).not.toMatch(/<script|\sstyle=|\son[a-z]+=/i);
  });
});

describe('the built-in mailbox', () => {
  it('is served when the web server listens on loopback', async () => {
    const test = await start({ relay: false });
    const response = await fetch(`${test.httpUrl}/mailbox`);
    expect(response.status).toBe(200);
  });

  it('is refused, with a line saying why and how to allow it, when the web server listens off loopback; the start says so', async () => {
    const { logger, lines } = loggerIntoLines();
    const test = await start({ relay: false, logger, config: { http: { host: '0.0.0.0' } } });
    const listing = await fetch(`${loopbackUrl(test)}/mailbox`, { headers: { 'accept-language': 'en' } });
    expect(listing.status).toBe(403);
    expect(await listing.text()).toBe(
      'The built-in mailbox is only shown on this machine (http://127.0.0.1), since it holds every message sent, receipt links included. To show it on this address, the operator sets http.exposeMailbox: true.\n',
    );
    expect((await fetch(`${loopbackUrl(test)}/mailbox/1`)).status).toBe(403);
    expect((await fetch(`${loopbackUrl(test)}/`)).status).toBe(200);
    const warnings = lines.filter((line) => line.level === 40).map((line) => line.msg);
    expect(warnings).toContainEqual(expect.stringContaining('the web server listens off loopback (http.host 0.0.0.0)'));
  });

  it('is served off loopback when http.exposeMailbox is set, and the start warns louder', async () => {
    const { logger, lines } = loggerIntoLines();
    const test = await start({ relay: false, logger, config: { http: { host: '0.0.0.0', exposeMailbox: true } } });
    expect((await fetch(`${loopbackUrl(test)}/mailbox`)).status).toBe(200);
    const errors = lines.filter((line) => line.level === 50).map((line) => line.msg);
    expect(errors).toContainEqual(expect.stringContaining('the built-in mailbox is served off loopback (http.exposeMailbox)'));
  });
});
