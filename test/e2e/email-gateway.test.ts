/**
 * The email gateway end to end: real SMTP over loopback into the gateway, a real SMTP server as
 * the department's and the sender's mailbox, the receipt page fetched over HTTP, a real SQLite file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { count, eq } from 'drizzle-orm';
import { letters, deliveries, blobs } from '../../src/db/schema.js';
import { eventsOf } from '../../src/letters/letters.repository.js';
import { clockFrom } from '../helpers/clock.js';
import { waitFor, type TestGateway, gatewayPerTest, readRegister, rowsOf } from '../helpers/gateway.js';
import { composeMessage } from '../helpers/messages.js';
import { receiptFacts } from '../helpers/receipts.js';
import { sendLetter } from '../helpers/smtp-client.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

const start = gatewayPerTest();


async function letterCount(test: TestGateway): Promise<number> {
  return (await readRegister(test.gateway, (db) => db.select({ n: count() }).from(letters).limit(1)))[0]!.n;
}

const numberIn = (text: string | undefined) => /\d{4}-A-\d{6}/.exec(text ?? '')?.[0];

describe('a letter sent by email', () => {
  it('is registered with a number in the 250 reply, forwarded to the department and answered with a working receipt link', async () => {
    const test = await start({ now: clockFrom('2026-03-14T09:00:00Z') });
    const attachment = randomBytes(3000);
    const message = await composeMessage({
      from: 'Amina Benali <amina@citizen.test>',
      to: 'rh@wasl.local',
      subject: 'Demande d’attestation de travail',
      text: 'Bonjour, je souhaite obtenir une attestation de travail.',
      attachments: [{ filename: 'piece.bin', content: attachment, contentType: 'application/octet-stream' }],
    });

    const reply = await sendLetter({ port: test.smtpPort, from: 'amina@citizen.test', to: ['rh@wasl.local'], message });

    expect(reply.data?.code).toBe(250);
    const number = numberIn(reply.data?.text);
    expect(number).toBe('2026-A-000001');

    const [forward] = await test.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
    expect(forward!.parsed.subject).toBe(`[${number}] Demande d’attestation de travail`);
    expect(forward!.parsed.text).toContain(`Courrier ${number}`);
    expect(forward!.parsed.text).toContain('je souhaite obtenir une attestation');
    expect(forward!.parsed.replyTo?.value[0]?.address).toMatch(/^reply\+[0-9a-z]+-[0-9a-f]{32}@wasl\.local$/);
    expect(forward!.parsed.headers.get('x-wasl-number')).toBe(number);
    expect(Buffer.compare(forward!.parsed.attachments[0]!.content, attachment)).toBe(0);

    const [receipt] = await test.relay!.waitForMessages(1, { to: 'amina@citizen.test' });
    expect(receipt!.parsed.headers.get('auto-submitted')).toBe('auto-replied');
    expect(receipt!.mailFrom).toMatch(/^bounce\+[0-9a-z]+-[0-9a-f]{32}@wasl\.local$/);
    const link = /http:\/\/127\.0\.0\.1:\d+\/r\/([A-Za-z0-9_-]{24})/.exec(receipt!.parsed.text ?? '');
    expect(link, 'receipt link in the receipt mail').not.toBeNull();
    expect(link![0].startsWith(test.httpUrl)).toBe(true);

    const page = await fetch(link![0]);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain(number);
    expect(html).toContain('Ressources humaines');
    expect(html).toContain('Amina Benali');
    expect(html).toContain(sha256(message));

    const facts = await receiptFacts(link![0]);
    expect(facts).toMatchObject({
      number,
      channel: 'email',
      sender: { id: 'amina@citizen.test', name: 'Amina Benali' },
      subject: 'Demande d’attestation de travail',
      departments: [{ code: 'RH' }],
      original: { sha256: sha256(message), size: message.length },
    });
    await waitFor(async () => (await receiptFacts<{ status: string }>(link![0])).status === 'forwarded', { what: 'status forwarded' });
  });

  it('keeps the original byte for byte and each attachment once, by its hash, whatever name it was given', async () => {
    const test = await start();
    const content = randomBytes(5000);
    const message = await composeMessage({
      from: 'sender@citizen.test',
      to: 'rh@wasl.local',
      subject: 'Pièces',
      text: 'Voir pièces jointes.',
      attachments: [
        { filename: '../../etc/passwd', content, contentType: 'application/octet-stream' },
        { filename: 'copie.bin', content, contentType: 'application/octet-stream' },
      ],
    });
    const reply = await sendLetter({ port: test.smtpPort, from: 'sender@citizen.test', to: ['rh@wasl.local'], message });
    expect(reply.data?.code).toBe(250);

    const stored = await rowsOf(test.gateway, blobs);
    const original = stored.find((row) => row.sha256 === sha256(message));
    expect(original && Buffer.compare(original.content, message)).toBe(0);
    // Two attachments with the same bytes are one stored blob.
    expect(stored.filter((row) => row.sha256 === sha256(content))).toHaveLength(1);

    const facts = await receiptFacts<{ attachments: { sha256: string; filename: string }[] }>(await receiptUrlOf(test, numberIn(reply.data?.text)!));
    expect(facts.attachments.map((attachment) => attachment.sha256)).toEqual([sha256(content), sha256(content)]);
    // The register keeps the name as given; the page shows it harmless.
    expect(facts.attachments.map((attachment) => attachment.filename)).toEqual(['../../etc/passwd', 'copie.bin']);
    const page = await (await fetch(await receiptUrlOf(test, numberIn(reply.data?.text)!))).text();
    expect(page).not.toContain('../../etc/passwd');
    expect(page).toContain('<td dir="auto">passwd</td>');
  });

  it('to several departments is one letter with one number, forwarded to each', async () => {
    const test = await start();
    const message = await composeMessage({ from: 'x@citizen.test', to: ['rh@wasl.local', 'urbanisme@wasl.local'], subject: 'Permis', text: 'Bonjour' });
    const reply = await sendLetter({ port: test.smtpPort, from: 'x@citizen.test', to: ['rh@wasl.local', 'urbanisme@wasl.local'], message });
    expect(reply.data?.code).toBe(250);
    const number = numberIn(reply.data?.text);

    const [toRh] = await test.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
    const [toUrb] = await test.relay!.waitForMessages(1, { to: 'urb-team@dept.test' });
    expect(toRh!.parsed.subject).toContain(number);
    expect(toUrb!.parsed.subject).toContain(number);
    expect(await letterCount(test)).toBe(1);
    await test.relay!.waitForMessages(1, { to: 'x@citizen.test' });
    expect(test.relay!.to('x@citizen.test')).toHaveLength(1);
  });

  it('sent twice with the same Message-ID and sender is the same letter: same number, no second forward', async () => {
    const test = await start();
    const message = await composeMessage({ from: 'twice@citizen.test', to: 'rh@wasl.local', subject: 'Deux fois', text: 'Bonjour', messageId: '<same-id@citizen.test>' });
    const first = await sendLetter({ port: test.smtpPort, from: 'twice@citizen.test', to: ['rh@wasl.local'], message });
    await test.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
    const second = await sendLetter({ port: test.smtpPort, from: 'twice@citizen.test', to: ['rh@wasl.local'], message });

    expect(first.data?.code).toBe(250);
    expect(second.data?.code).toBe(250);
    expect(second.data?.text).toContain('Already registered');
    expect(numberIn(second.data?.text)).toBe(numberIn(first.data?.text));
    expect(await letterCount(test)).toBe(1);
    await test.gateway.outbox.idle();
    expect(test.relay!.to('rh-team@dept.test')).toHaveLength(1);
    expect(test.relay!.to('twice@citizen.test')).toHaveLength(1);
  });

  it('reusing a Message-ID for other content is a letter of its own, forwarded and receipted; that one sent again is not registered a third time', async () => {
    const test = await start();
    const letter = (subject: string, text: string) =>
      composeMessage({ from: 'reuse@citizen.test', to: 'rh@wasl.local', subject, text, messageId: '<reused-id@citizen.test>' });
    const send = (message: Buffer) => sendLetter({ port: test.smtpPort, from: 'reuse@citizen.test', to: ['rh@wasl.local'], message });
    const [firstMessage, secondMessage] = [await letter('Première demande', 'Premier courrier'), await letter('Seconde demande', 'Un autre courrier')];

    const first = await send(firstMessage);
    const second = await send(secondMessage);
    const secondAgain = await send(secondMessage);

    expect([first.data?.code, second.data?.code, secondAgain.data?.code]).toEqual([250, 250, 250]);
    const [firstNumber, secondNumber] = [numberIn(first.data?.text)!, numberIn(second.data?.text)!];
    expect(second.data?.text).toContain('Registered as');
    expect(secondNumber).not.toBe(firstNumber);
    expect(secondAgain.data?.text).toContain(`Already registered as ${secondNumber}`);
    expect(await letterCount(test)).toBe(2);

    const secondRow = (await readRegister(test.gateway, (db) => db.select().from(letters).where(eq(letters.number, secondNumber)).limit(1)))[0]!;
    expect(secondRow.subject).toBe('Seconde demande');
    expect(Buffer.compare((await readRegister(test.gateway, (db) => db.select().from(blobs).where(eq(blobs.sha256, secondRow.originalSha256)).limit(1)))[0]!.content, secondMessage)).toBe(0);
    // The mail office sees why two letters carry one Message-ID.
    expect((await test.gateway.database.read((tx) => eventsOf(tx, secondRow.id))).filter((event) => event.type === 'message_id_reused').map((event) => JSON.parse(event.detail!))).toEqual([{ earlier: [firstNumber] }]);

    await test.gateway.outbox.idle();
    const forwards = test.relay!.to('rh-team@dept.test');
    expect(forwards.map((message) => numberIn(message.parsed.subject)).sort()).toEqual([firstNumber, secondNumber].sort());
    expect(test.relay!.to('reuse@citizen.test')).toHaveLength(2);
  });

  it('with an Arabic subject from a UTF-8 address (SMTPUTF8) keeps both intact', async () => {
    const test = await start();
    const from = 'أمينة@مواطن.test';
    const subject = 'طلب شهادة السكنى';
    const message = [
      `From: أمينة <${from}>`,
      'To: rh@wasl.local',
      `Subject: ${subject}`,
      'Message-ID: <arabic-1@citizen.test>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      'السلام عليكم، أطلب شهادة السكنى.',
      '',
    ].join('\r\n');

    const reply = await sendLetter({ port: test.smtpPort, from, to: ['rh@wasl.local'], message, mailParameters: ' SMTPUTF8 BODY=8BITMIME' });

    expect(reply.mail.code).toBe(250);
    expect(reply.data?.code).toBe(250);
    const [forward] = await test.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
    expect(forward!.parsed.subject).toContain(subject);
    expect(forward!.parsed.text).toContain('أطلب شهادة السكنى');
    expect(forward!.parsed.text).toContain(from);
    const [receipt] = await test.relay!.waitForMessages(1, { to: from });
    expect(receipt!.parsed.subject).toContain(subject);
  });
});

describe('a letter the gateway refuses', () => {
  it('to an unknown department address is refused with 550 5.1.1 saying where to find the addresses, and nothing is stored', async () => {
    const test = await start();
    const reply = await sendLetter({ port: test.smtpPort, from: 'x@citizen.test', to: ['nobody@wasl.local'], message: 'Subject: x\r\n\r\nx' });
    expect(reply.rcpt[0]!.code).toBe(550);
    expect(reply.rcpt[0]!.text).toMatch(/^5\.1\.1 <nobody@wasl\.local> reaches no department of wasl\.local; the list of addresses is at http/);
    expect(reply.data).toBeUndefined();
    expect(await letterCount(test)).toBe(0);
  });

  it('for another domain is refused: the gateway is not an open relay', async () => {
    const test = await start();
    const reply = await sendLetter({ port: test.smtpPort, from: 'x@citizen.test', to: ['someone@elsewhere.test'], message: 'Subject: x\r\n\r\nx' });
    expect(reply.rcpt[0]!.code).toBe(550);
    expect(reply.rcpt[0]!.text).toContain('no relay');
    expect(await letterCount(test)).toBe(0);
  });

  it('over the size limit gets 552 and nothing is stored', async () => {
    const test = await start({ config: { adapters: { email: { smtp: { maxSize: 2048 } } } } });
    const message = await composeMessage({ from: 'big@citizen.test', to: 'rh@wasl.local', subject: 'Gros', text: 'x'.repeat(10_000) });
    const reply = await sendLetter({ port: test.smtpPort, from: 'big@citizen.test', to: ['rh@wasl.local'], message });
    expect(reply.data?.code).toBe(552);
    expect(await letterCount(test)).toBe(0);
    // A client that declares the size up front is refused before sending it.
    const declared = await sendLetter({ port: test.smtpPort, from: 'big@citizen.test', to: ['rh@wasl.local'], message, mailParameters: ` SIZE=${message.length}` });
    expect(declared.mail.code).toBe(552);
  });
});

describe('loop protection', () => {
  it.each([
    ['an auto-reply (Auto-Submitted)', 'Auto-Submitted: auto-replied', 'ooo@citizen.test'],
    ['bulk mail (Precedence: bulk)', 'Precedence: bulk', 'news@citizen.test'],
    ['a message asking for no auto-response', 'X-Auto-Response-Suppress: All', 'suppress@citizen.test'],
    ['a message from the null sender', 'X-Test: null-sender', ''],
  ])('%s is registered and forwarded but never answered with a receipt', async (_label, header, envelopeFrom) => {
    const test = await start();
    const message = `From: Someone <someone@citizen.test>\r\nTo: rh@wasl.local\r\nSubject: Absent\r\nMessage-ID: <${randomBytes(6).toString('hex')}@citizen.test>\r\n${header}\r\n\r\nJe suis absent.\r\n`;
    const reply = await sendLetter({ port: test.smtpPort, from: envelopeFrom, to: ['rh@wasl.local'], message });
    expect(reply.data?.code).toBe(250);
    await test.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
    await test.gateway.outbox.idle();
    expect((await rowsOf(test.gateway, deliveries)).map((row) => row.kind)).toEqual(['forward']);
    expect(test.relay!.messages.filter((message) => message.rcptTo[0] !== 'rh-team@dept.test')).toHaveLength(0);
  });
});

describe('deliveries that cannot go out at once', () => {
  it('are sent after a restart when the gateway stopped with deliveries pending', async () => {
    const test = await start();
    await test.relay!.stop();
    const message = await composeMessage({ from: 'patient@citizen.test', to: 'rh@wasl.local', subject: 'En attente', text: 'Bonjour' });
    const reply = await sendLetter({ port: test.smtpPort, from: 'patient@citizen.test', to: ['rh@wasl.local'], message });
    expect(reply.data?.code).toBe(250);
    await waitFor(async () => (await rowsOf(test.gateway, deliveries)).every((row) => row.attempts >= 1 && row.status === 'pending'), { what: 'a failed first attempt' });

    await test.stopGateway();
    await test.relay!.start();
    await test.restart();

    await test.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
    await test.relay!.waitForMessages(1, { to: 'patient@citizen.test' });
    // Sends are marked once the mark's commit is made, a few milliseconds after the relay has the message.
    await test.gateway.outbox.idle();
    expect((await rowsOf(test.gateway, deliveries)).map((row) => row.status)).toEqual(['sent', 'sent']);
  });

  it('made while the outbox is stopped wait in the queue unsent, and go out at their first attempt once it runs again', async () => {
    const test = await start();
    await test.gateway.outbox.stop();
    const message = await composeMessage({ from: 'patient@citizen.test', to: 'rh@wasl.local', subject: 'Pendant un arrêt', text: 'Bonjour' });
    const reply = await sendLetter({ port: test.smtpPort, from: 'patient@citizen.test', to: ['rh@wasl.local'], message });
    expect(reply.data?.code).toBe(250);
    const queued = async () => (await rowsOf(test.gateway, deliveries)).map((row) => ({ status: row.status, attempts: row.attempts }));
    expect(await queued()).toEqual([
      { status: 'pending', attempts: 0 },
      { status: 'pending', attempts: 0 },
    ]);

    await test.gateway.outbox.start();
    await test.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
    await test.relay!.waitForMessages(1, { to: 'patient@citizen.test' });
    await test.gateway.outbox.idle();
    expect(await queued()).toEqual([
      { status: 'sent', attempts: 1 },
      { status: 'sent', attempts: 1 },
    ]);
  });

  it('wait while the department mailbox answers 4xx, then go through once it is back', async () => {
    const test = await start();
    test.relay!.mode = 'tempfail';
    const message = await composeMessage({ from: 'busy@citizen.test', to: 'rh@wasl.local', subject: 'Occupé', text: 'Bonjour' });
    const reply = await sendLetter({ port: test.smtpPort, from: 'busy@citizen.test', to: ['rh@wasl.local'], message });
    expect(reply.data?.code).toBe(250);
    await waitFor(() => test.relay!.refused >= 2, { what: 'two refused attempts' });
    test.relay!.mode = 'accept';

    const [forward] = await test.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
    expect(forward!.parsed.subject).toContain(numberIn(reply.data?.text));
    const forwardRow = (await rowsOf(test.gateway, deliveries)).find((row) => row.kind === 'forward')!;
    await waitFor(async () => (await rowsOf(test.gateway, deliveries)).find((row) => row.id === forwardRow.id)!.status === 'sent', { what: 'the forward marked sent' });
    expect((await rowsOf(test.gateway, deliveries)).find((row) => row.id === forwardRow.id)!.attempts).toBeGreaterThan(1);
  });

  it('that the department server refuses for good (5xx) are marked failed at once, for the mail office to see', async () => {
    const test = await start();
    test.relay!.mode = 'reject';
    const message = await composeMessage({ from: 'refused@citizen.test', to: 'rh@wasl.local', subject: 'Refusé', text: 'Bonjour' });
    await sendLetter({ port: test.smtpPort, from: 'refused@citizen.test', to: ['rh@wasl.local'], message });
    await waitFor(async () => (await rowsOf(test.gateway, deliveries)).every((row) => row.status === 'failed'), { what: 'deliveries failed' });
    const rows = await rowsOf(test.gateway, deliveries);
    expect(rows.every((row) => row.attempts === 1 && row.lastErrorCode === 'delivery.refused')).toBe(true);
  });
});

async function receiptUrlOf(test: TestGateway, number: string): Promise<string> {
  return (await test.gateway.port.findLetter(number))!.receiptUrl;
}

describe('the receipt page', () => {
  it('answers an unknown token with a plain 404 that reveals nothing', async () => {
    const test = await start();
    const response = await fetch(`${test.httpUrl}/r/${randomBytes(18).toString('base64url')}`);
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('Not found\n');
  });

  it('speaks the language asked by ?lang=, else Accept-Language, else the configured default', async () => {
    const test = await start();
    const message = await composeMessage({ from: 'lang@citizen.test', to: 'rh@wasl.local', subject: 'Langues', text: 'x' });
    const reply = await sendLetter({ port: test.smtpPort, from: 'lang@citizen.test', to: ['rh@wasl.local'], message });
    const url = await receiptUrlOf(test, numberIn(reply.data?.text)!);

    const arabic = await (await fetch(`${url}?lang=ar`)).text();
    expect(arabic).toContain('dir="rtl"');
    expect(arabic).toContain('وصل الاستلام');
    const english = await (await fetch(url, { headers: { 'accept-language': 'de;q=1, en;q=0.8, fr;q=0.5' } })).text();
    expect(english).toContain('Receipt of registration');
    const french = await (await fetch(url)).text();
    expect(french).toContain('Accusé de réception');
  });

  it('in Arabic lets the sender, a Latin subject and file names keep their own direction (dir="auto"), the number its left-to-right order', async () => {
    const test = await start();
    const message = await composeMessage({
      from: 'Nadia <nadia@citizen.test>',
      to: 'rh@wasl.local',
      subject: 'Demande (urgente)',
      text: 'x',
      attachments: [{ filename: 'plan (v2).pdf', content: 'pdf' }],
    });
    const reply = await sendLetter({ port: test.smtpPort, from: 'nadia@citizen.test', to: ['rh@wasl.local'], message });
    const arabic = await (await fetch(`${await receiptUrlOf(test, numberIn(reply.data?.text)!)}?lang=ar`)).text();
    expect(arabic).toContain('dir="rtl"');
    expect(arabic).toContain('<dd dir="auto">Demande (urgente)</dd>');
    expect(arabic).toMatch(/<dd dir="auto">Nadia &lt;nadia@citizen\.test&gt;<\/dd>/);
    expect(arabic).toContain('<td dir="auto">plan (v2).pdf</td>');
    expect(arabic).toContain(`<dd class="number">${numberIn(reply.data?.text)}</dd>`);
  });

  it('/healthz says the register is reachable, and 503 once it is not', async () => {
    const test = await start();
    const response = await fetch(`${test.httpUrl}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', database: 'reachable' });
    await test.gateway.database.close();
    const down = await fetch(`${test.httpUrl}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: 'unavailable', database: 'unreachable' });
  });
});

describe('the receipt email', () => {
  it('carries Arabic and French in one message when configured so', async () => {
    const test = await start({ config: { receipts: { mailLanguages: ['ar', 'fr'] } } });
    const message = await composeMessage({ from: 'bi@citizen.test', to: 'rh@wasl.local', subject: 'Deux langues', text: 'x' });
    const reply = await sendLetter({ port: test.smtpPort, from: 'bi@citizen.test', to: ['rh@wasl.local'], message });
    const number = numberIn(reply.data?.text)!;
    const [receipt] = await test.relay!.waitForMessages(1, { to: 'bi@citizen.test' });
    // The Arabic half sets apart (bidi isolates) what it quotes, so the number reads as written in a right-to-left line.
    const setApart = (value: string) => `\u2068${value}\u2069`;
    expect(receipt!.parsed.subject).toBe(`[${setApart(number)}] وصل الاستلام: ${setApart('Deux langues')} / [${number}] Accusé de réception : Deux langues`);
    const text = receipt!.parsed.text!;
    const arabicOpening = `استلم ${setApart('مكتب الضبط')} مراسلتكم`;
    expect(text.indexOf(arabicOpening)).toBeGreaterThanOrEqual(0);
    expect(text.indexOf("Bureau d'ordre a bien reçu votre courrier")).toBeGreaterThan(text.indexOf(arabicOpening));
    expect(text.match(new RegExp(`/r/[A-Za-z0-9_-]{24}`, 'g'))).toHaveLength(2);
  });

  it('is in the language the sender wrote in (Content-Language) when no languages are configured', async () => {
    const test = await start();
    const message = await composeMessage({ from: 'en@citizen.test', to: 'rh@wasl.local', subject: 'Certificate', text: 'x', headers: { 'Content-Language': 'en-GB' } });
    await sendLetter({ port: test.smtpPort, from: 'en@citizen.test', to: ['rh@wasl.local'], message });
    const [receipt] = await test.relay!.waitForMessages(1, { to: 'en@citizen.test' });
    expect(receipt!.parsed.subject).toMatch(/^\[\d{4}-A-\d{6}\] Receipt: Certificate$/);
  });

  it('is in Arabic for a letter written in Arabic that declares no language, although the office speaks French', async () => {
    const test = await start();
    const message = await composeMessage({
      from: 'ahmed@citizen.test',
      to: 'rh@wasl.local',
      subject: 'طلب شهادة العمل',
      text: 'السيد المدير، أتشرف بأن أطلب منكم تسليمي شهادة العمل. وتقبلوا فائق الاحترام.',
    });
    expect(message.toString('latin1')).not.toMatch(/^Content-Language:/im);
    await sendLetter({ port: test.smtpPort, from: 'ahmed@citizen.test', to: ['rh@wasl.local'], message });
    const [receipt] = await test.relay!.waitForMessages(1, { to: 'ahmed@citizen.test' });
    expect(receipt!.parsed.subject).toMatch(/^\[\u2068\d{4}-A-\d{6}\u2069\] وصل الاستلام: \u2068طلب شهادة العمل\u2069$/);
    expect(receipt!.parsed.text).toContain(`استلم \u2068مكتب الضبط\u2069 مراسلتكم`);
  });
});
