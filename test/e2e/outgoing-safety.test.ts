/**
 * What leaves the gateway is safe whatever came in: hostile subjects, names and attached messages
 * go out as well-formed mail (one-line headers, folded, no line over 998 bytes, no NUL, no bare CR
 * or LF) and never stop a forward or a receipt. Real SMTP in, a real SMTP server as the mailboxes.
 */
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { deliveries } from '../../src/db/schema.js';
import { gatewayPerTest, waitFor, type TestGateway, rowsOf } from '../helpers/gateway.js';
import type { SunkMessage } from '../helpers/mail-sink.js';
import { composeMessage } from '../helpers/messages.js';
import { sendLetter, SmtpSession } from '../helpers/smtp-client.js';

const start = gatewayPerTest();

const numberIn = (text: string | undefined) => /\d{4}-A-\d{6}/.exec(text ?? '')![0];

/** RFC 5322 §2.1.1: a line is at most 998 bytes; RFC 5321 §2.3.8: CR and LF only together. */
function linesBreakingTheLimits(raw: Buffer): string[] {
  const problems: string[] = [];
  if (raw.includes(0)) problems.push('a NUL byte');
  const lines = raw.toString('latin1').split('\r\n');
  lines.forEach((line, index) => {
    if (/[\r\n]/.test(line)) problems.push(`line ${index + 1} has a bare CR or LF`);
    if (line.length > 998) problems.push(`line ${index + 1} is ${line.length} bytes`);
  });
  return problems;
}

/** A short letter to RH with these headers as written: encoded words reach the gateway as the sender encoded them. */
const letterWithHeaders = (headers: string[]) => [...headers, 'To: rh@wasl.local', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', 'Bonjour.', ''].join('\r\n');

const headerBlock = (message: SunkMessage) => message.raw.toString('latin1').split('\r\n\r\n')[0]!;

/** A header field as it stands in the raw message, with its folded continuation lines. */
function rawHeaderLines(message: SunkMessage, name: string): string[] {
  const lines = headerBlock(message).split('\r\n');
  const start = lines.findIndex((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  if (start === -1) return [];
  const end = lines.findIndex((line, index) => index > start && !/^[ \t]/.test(line));
  return lines.slice(start, end === -1 ? undefined : end);
}

async function forwardAndReceipt(test: TestGateway, sender: string): Promise<{ forward: SunkMessage; receipt: SunkMessage }> {
  const [forward] = await test.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
  const [receipt] = await test.relay!.waitForMessages(1, { to: sender });
  await test.gateway.outbox.idle();
  return { forward: forward!, receipt: receipt! };
}

const deliveryStates = async (test: TestGateway) => (await rowsOf(test.gateway, deliveries)).map((row) => ({ kind: row.kind, status: row.status, attempts: row.attempts }));

describe('a letter whose subject or name hides line breaks', () => {
  it('is forwarded and receipted at the first attempt with one-line headers, and the hidden "Bcc:" never becomes a header', async () => {
    const test = await start();
    // "hello\r\nBcc: v@other.example", and a display name "Amina\r\nBcc: w@other.example\u2028Director".
    const raw = letterWithHeaders([
      'From: =?UTF-8?B?QW1pbmENCkJjYzogd0BvdGhlci5leGFtcGxl4oCoRGlyZWN0b3I=?= <amina@citizen.test>',
      'Subject: =?UTF-8?B?aGVsbG8NCkJjYzogdkBvdGhlci5leGFtcGxl?=',
      'Message-ID: <line-breaks@citizen.test>',
    ]);

    const reply = await sendLetter({ port: test.smtpPort, from: 'amina@citizen.test', to: ['rh@wasl.local'], message: raw });

    expect(reply.data?.code).toBe(250);
    const number = numberIn(reply.data?.text);
    const { forward, receipt } = await forwardAndReceipt(test, 'amina@citizen.test');
    expect(forward.parsed.subject).toBe(`[${number}] hello Bcc: v@other.example`);
    expect(receipt.parsed.subject).toBe(`[${number}] Accusé de réception : hello Bcc: v@other.example`);
    expect(forward.parsed.from?.value[0]?.name).toBe(`Amina Bcc: w@other.example Director via ${test.config.mail.officeName.fr}`);
    expect(receipt.parsed.to && !Array.isArray(receipt.parsed.to) ? receipt.parsed.to.value[0]?.name : undefined).toBe('Amina Bcc: w@other.example Director');
    for (const message of [forward, receipt]) {
      expect(message.parsed.headers.has('bcc')).toBe(false);
      expect(headerBlock(message)).not.toMatch(/^bcc:/im);
      expect(linesBreakingTheLimits(message.raw)).toEqual([]);
    }
    expect(test.relay!.messages.flatMap((message) => message.rcptTo)).not.toContain('v@other.example');
    expect(await deliveryStates(test)).toEqual([
      { kind: 'forward', status: 'sent', attempts: 1 },
      { kind: 'receipt', status: 'sent', attempts: 1 },
    ]);
    // The register keeps the subject as it was sent.
    expect((await test.gateway.port.findLetter(number))!.subject).toBe('hello\r\nBcc: v@other.example');
  });

  it('with U+2028, U+2029, NUL, tabs and other controls in the subject goes out with them as single spaces', async () => {
    const test = await start();
    const subject = 'un\u2028deux\u2029trois\u0000quatre\t\tcinq\u0085six\u001b\u007fsept';
    const raw = letterWithHeaders(['From: amina@citizen.test', `Subject: =?UTF-8?B?${Buffer.from(subject).toString('base64')}?=`]);

    const reply = await sendLetter({ port: test.smtpPort, from: 'amina@citizen.test', to: ['rh@wasl.local'], message: raw });

    expect(reply.data?.code).toBe(250);
    const { forward, receipt } = await forwardAndReceipt(test, 'amina@citizen.test');
    expect(forward.parsed.subject).toBe(`[${numberIn(reply.data?.text)}] un deux trois quatre cinq six sept`);
    expect(receipt.parsed.subject).toContain('un deux trois quatre cinq six sept');
    expect((await deliveryStates(test)).every((row) => row.status === 'sent' && row.attempts === 1)).toBe(true);
  });
});

describe('a letter with a subject of 100 KB', () => {
  it('is registered whole, and its forward and receipt carry it folded and shortened with an ellipsis', async () => {
    const test = await start();
    // One word without a space to fold at: nodemailer leaves such a word on one line.
    const subject = `Objet ${'A'.repeat(100_000)}`;
    const message = await composeMessage({ from: 'long@citizen.test', to: 'rh@wasl.local', subject, text: 'Bonjour' });

    const reply = await sendLetter({ port: test.smtpPort, from: 'long@citizen.test', to: ['rh@wasl.local'], message });

    expect(reply.data?.code).toBe(250);
    const number = numberIn(reply.data?.text);
    expect((await test.gateway.port.findLetter(number))!.subject).toBe(subject);
    const { forward, receipt } = await forwardAndReceipt(test, 'long@citizen.test');
    for (const sent of [forward, receipt]) {
      expect(linesBreakingTheLimits(sent.raw)).toEqual([]);
      // RFC 5322 §2.1.1 recommends 78 characters a line; the subject is folded to keep to it.
      const subjectLines = rawHeaderLines(sent, 'subject');
      expect(subjectLines.length).toBeGreaterThan(1);
      expect(subjectLines.filter((line) => line.length > 78)).toEqual([]);
      expect(sent.parsed.subject).toMatch(/ AAAA+…$/);
      expect(sent.parsed.subject!.length).toBeLessThan(400);
    }
    expect(forward.parsed.subject!.startsWith(`[${number}] Objet AAAA`)).toBe(true);
  });
});

describe('a letter carrying attached messages', () => {
  it('goes out with every line within the limits, and the department recovers the attached bytes intact', async () => {
    const test = await start();
    // A bare CR before ".\r\n" (a relay that takes a bare CR for a line end would see the end of DATA), a NUL, a 1,209-byte line.
    const unsafe = Buffer.from(['From: someone@elsewhere.test', 'Subject: inner', '', 'first line\r.\r\nnul \u0000 byte', 'x'.repeat(1209), 'last line', ''].join('\r\n'), 'latin1');
    const clean = Buffer.from(['From: someone@elsewhere.test', 'Subject: clean', '', 'A short message.', ''].join('\r\n'), 'latin1');
    const part = (headers: string[], content: Buffer) => [Buffer.from(['--outer', ...headers, '', ''].join('\r\n')), content, Buffer.from('\r\n')];
    const letter = Buffer.concat([
      Buffer.from(['From: relay@citizen.test', 'To: rh@wasl.local', 'Subject: Messages transmis', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="outer"', '', ''].join('\r\n')),
      ...part(['Content-Type: text/plain; charset=utf-8'], Buffer.from('Voir les messages joints; ce texte a un CR\rnu et un NUL \u0000.', 'latin1')),
      ...part(['Content-Type: message/rfc822', 'Content-Disposition: attachment; filename="transmis.eml"'], unsafe),
      ...part(['Content-Type: message/rfc822', 'Content-Disposition: attachment; filename="propre.eml"'], clean),
      Buffer.from('--outer--\r\n'),
    ]);

    const { session } = await SmtpSession.open(test.smtpPort);
    await session.command('EHLO client.test');
    await session.command('MAIL FROM:<relay@citizen.test>');
    await session.command('RCPT TO:<rh@wasl.local>');
    expect((await session.command('DATA')).code).toBe(354);
    // Written as is: the test client's dot-stuffing would take the bare CR for a line end.
    session.write(`${letter.toString('latin1')}.\r\n`);
    const reply = await session.read();
    await session.quit();

    expect(reply.code).toBe(250);
    const [forward] = await test.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
    expect(linesBreakingTheLimits(forward!.raw)).toEqual([]);
    const attachments = forward!.parsed.attachments.map((attachment) => ({
      filename: attachment.filename,
      // As sent: mailparser reports a .eml file as message/rfc822 whatever its Content-Type.
      contentType: (attachment.headers.get('content-type') as { value: string }).value,
      content: attachment.content.toString('latin1'),
    }));
    expect(attachments).toEqual([
      // Not 7bit: sent as a file in base64 (RFC 2046 §5.2.1 allows message/rfc822 no base64).
      { filename: 'transmis.eml', contentType: 'application/octet-stream', content: unsafe.toString('latin1') },
      // 7bit already: still an attached message, as it came.
      { filename: 'propre.eml', contentType: 'message/rfc822', content: clean.toString('latin1') },
    ]);
  });
});

describe('a message that cannot be composed', () => {
  it('fails at its first attempt as delivery.compose_failed, logged as an error, instead of being retried for hours', async () => {
    const logged: { level: number; phase?: string; delivery?: number }[] = [];
    const test = await start({ logger: pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line) as (typeof logged)[number]) }) });
    await test.gateway.outbox.stop();
    const message = await composeMessage({ from: 'amina@citizen.test', to: 'rh@wasl.local', subject: 'Demande', text: 'Bonjour' });
    expect((await sendLetter({ port: test.smtpPort, from: 'amina@citizen.test', to: ['rh@wasl.local'], message })).data?.code).toBe(250);
    // A row as a bug could leave it: a registration date out of range, which no date format takes.
    await test.gateway.database.write((tx) => tx.db.run(sql`UPDATE letters SET registered_at = ${9e15}`));

    await test.gateway.outbox.start();

    const rows = async () => await rowsOf(test.gateway, deliveries);
    await waitFor(async () => (await rows()).every((row) => row.status === 'failed'), { what: 'both deliveries failed' });
    expect((await rows()).map((row) => ({ status: row.status, attempts: row.attempts, code: row.lastErrorCode }))).toEqual([
      { status: 'failed', attempts: 1, code: 'delivery.compose_failed' },
      { status: 'failed', attempts: 1, code: 'delivery.compose_failed' },
    ]);
    // Each one logged once; the two are composed at once, so in no set order.
    const logs = logged.filter((line) => line.level === 50 && line.phase === 'outbox.compose').map((line) => line.delivery);
    expect(logs.sort()).toEqual((await rows()).map((row) => row.id).sort());
    expect(test.relay!.messages).toEqual([]);
  });
});
