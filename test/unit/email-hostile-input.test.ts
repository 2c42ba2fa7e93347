/**
 * The small guards of the email intake, on their own: display names of attachments, the MIME
 * shape read before parsing, token buckets that forget, and what a bounce says.
 */
import { describe, expect, it } from 'vitest';
import { readDeliveryStatus, returnedDelivery } from '../../adapters/email/bounces.js';
import { mimeShape } from '../../adapters/email/mime-shape.js';
import { createTokenBuckets } from '../../src/limits/memory-buckets.js';
import { displayFilename } from '../../src/letters/attachment-names.js';
import { deeplyNested, manyParts } from '../fixtures/email/mime-bombs.js';

describe('the name an attachment is shown under on a forward', () => {
  it.each([
    ['../../etc/passwd', 'passwd'],
    ['C:\\Windows\\system32\\drivers\\etc\\hosts', 'hosts'],
    ['facture\u202Efdp.exe', 'facturefdp.exe'],
    ['rapport\u0000\u0007\r\n.pdf', 'rapport.pdf'],
    ['\u2066secret\u2069.txt', 'secret.txt'],
    ['..', 'attachment-3'],
    ['.bashrc', 'bashrc'],
    ['a<b>c:d"e|f?g*h.txt', 'a_b_c_d_e_f_g_h.txt'],
    ['شهادة السكنى.pdf', 'شهادة السكنى.pdf'],
    [undefined, 'attachment-3'],
  ])('%j is shown as %j', (filename, shown) => {
    expect(displayFilename({ filename, position: 2 })).toBe(shown);
  });

  it('keeps a very long name short, with its extension, without cutting a character in two', () => {
    const shown = displayFilename({ filename: `${'😀'.repeat(300)}.pdf`, position: 0 });
    expect([...shown]).toHaveLength(180);
    expect(shown.endsWith('😀.pdf')).toBe(true);
  });
});

describe('the MIME shape read before parsing', () => {
  it('counts the parts and the nesting of an ordinary letter', () => {
    const letter = [
      'Subject: x',
      'Content-Type: multipart/mixed;',
      ' boundary="outer"',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary=inner',
      '',
      '--inner',
      'Content-Type: text/plain',
      '',
      'texte',
      '--inner',
      'Content-Type: text/html',
      '',
      '<p>texte</p>',
      '--inner--',
      '--outer',
      'Content-Type: message/rfc822',
      '',
      'Subject: embedded',
      'Content-Type: multipart/mixed; boundary=deep',
      '',
      '--deep',
      '',
      'x',
      '--deep--',
      '--outer--',
      '',
    ].join('\r\n');
    expect(mimeShape({ raw: Buffer.from(letter), maxParts: 100, maxDepth: 10 })).toEqual({ parts: 6, depth: 3 });
  });

  it('stops at the first part past the limit', () => {
    expect(mimeShape({ raw: Buffer.from(manyParts(5000)), maxParts: 500, maxDepth: 20 })).toEqual({ parts: 501, depth: 1, exceeds: 'parts' });
  });

  it('stops at the first level past the depth limit', () => {
    expect(mimeShape({ raw: Buffer.from(deeplyNested(1000)), maxParts: 5000, maxDepth: 20 })).toMatchObject({ depth: 21, exceeds: 'depth' });
  });

  it('does not count boundary-like lines of a part that is not multipart', () => {
    const text = 'Subject: x\r\nContent-Type: text/plain\r\n\r\n--sep\r\n--sep\r\n';
    expect(mimeShape({ raw: Buffer.from(text), maxParts: 1, maxDepth: 1 })).toEqual({ parts: 1, depth: 0 });
  });
});

describe('token buckets', () => {
  it('let a burst of `limit` through, then one more per share of the window', () => {
    let now = 0;
    const buckets = createTokenBuckets({ limit: 3, windowMs: 3000, maxKeys: 100, now: () => now });
    expect([1, 2, 3, 4].map(() => buckets.take('a'))).toEqual([true, true, true, false]);
    expect(buckets.take('b')).toBe(true);
    expect(buckets.waitMs('a')).toBe(1000);
    now = 1000;
    expect(buckets.take('a')).toBe(true);
    expect(buckets.take('a')).toBe(false);
  });

  it('forget keys that refilled and never remember more than maxKeys', () => {
    let now = 0;
    const buckets = createTokenBuckets({ limit: 2, windowMs: 1000, maxKeys: 100, now: () => now });
    for (let index = 0; index < 1000; index += 1) buckets.take(`client-${index}`);
    expect(buckets.size).toBeLessThanOrEqual(101);
    now = 10_000;
    buckets.take('late');
    expect(buckets.size).toBe(1);
  });
});

describe('a bounce', () => {
  const dsn = (action: string, { reportType = 'delivery-status', returnPath = '<bounce+16-0123456789abcdef0123456789abcdef@wasl.local>' } = {}) =>
    Buffer.from(
      [
        `Content-Type: multipart/report; report-type=${reportType};`,
        '\tboundary="r/1"',
        '',
        'preamble',
        '--r/1',
        'Content-Type: text/plain',
        '',
        'Action: failed (a person could write this in the text)',
        '--r/1',
        'Content-Type: message/delivery-status',
        '',
        'Reporting-MTA: dns; mx.example.org',
        '',
        'Final-Recipient: rfc822; x@example.org',
        `Action: ${action}`,
        'Status: 5.1.1',
        'Diagnostic-Code: smtp; 550 5.1.1 <x@example.org>:',
        '    Recipient address rejected',
        '',
        '--r/1',
        'Content-Type: text/rfc822-headers',
        '',
        `Return-Path: ${returnPath}`,
        'Message-ID: <wasl.42.2026-A-000007@wasl.local>',
        'References: <wasl.7.2026-A-000001@elsewhere.test>',
        '--r/1--',
      ].join('\r\n'),
    );

  it('that failed says why, with its status and diagnostic, and which message it returns', () => {
    expect(readDeliveryStatus(dsn('failed'))).toEqual({
      failed: true,
      reason: 'Status: 5.1.1; Diagnostic-Code: smtp; 550 5.1.1 <x@example.org>: Recipient address rejected',
      returned: { messageId: '<wasl.42.2026-A-000007@wasl.local>', returnPath: '<bounce+16-0123456789abcdef0123456789abcdef@wasl.local>' },
    });
  });

  it.each(['delayed', 'delivered', 'relayed', 'expanded'])('that says %s is not a failure', (action) => {
    expect(readDeliveryStatus(dsn(action))?.failed).toBe(false);
  });

  it('is only a delivery status notification: free text and other reports are none, whatever they say', () => {
    expect(readDeliveryStatus(Buffer.from('Subject: failure notice\r\n\r\nAction: failed\r\nSorry, I could not deliver.'))).toBeUndefined();
    expect(readDeliveryStatus(dsn('failed', { reportType: 'disposition-notification' }))).toBeUndefined();
  });

  it('names our delivery by its Message-ID on our domain only, and by a Return-Path whose token checks', () => {
    const notice = readDeliveryStatus(dsn('failed'))!;
    const deliveryOfAddress = (address: string) => (address === 'bounce+16-0123456789abcdef0123456789abcdef@wasl.local' ? 16 : undefined);
    expect(returnedDelivery({ notice, domain: 'wasl.local', deliveryOfAddress })).toEqual({ byMessageId: 42, byReturnPath: 16 });
    expect(returnedDelivery({ notice, domain: 'elsewhere.test', deliveryOfAddress: () => undefined })).toEqual({ byMessageId: undefined, byReturnPath: undefined });
  });
});
