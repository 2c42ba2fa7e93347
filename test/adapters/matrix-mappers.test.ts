/**
 * The Matrix adapter's pure edges, on events as Element and other clients send them
 * (test/fixtures/matrix): which events the bot acts on, how commands read, what letters they
 * become, and what the bot posts back.
 */
import { readFileSync } from 'node:fs';
import { ConnectionError, MatrixError } from 'matrix-js-sdk';
import { describe, expect, it } from 'vitest';
import { matrixFailure } from '../../adapters/matrix/homeserver.js';
import {
  answerLetter,
  commandLetter,
  ENCRYPTED,
  fileReferenceOf,
  isAllowedInviter,
  parseCommand,
  whyIgnored,
  writtenText,
  type MatrixEventFacts,
} from '../../adapters/matrix/to-letter.js';
import { fileContent, outboundNotice, refusalText, statusText, transactionId } from '../../adapters/matrix/to-native.js';
import type { DepartmentView, LetterSummary, OutboundMessage } from '../../src/channels/port.js';

const fixture = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/matrix/${name}.json`, import.meta.url), 'utf8')) as MatrixEventFacts;
const BOT = '@courrier:example.org';
const JOINED_LONG_AGO = 1_700_000_000_000;

describe('which events the bot acts on', () => {
  it('a person’s message in a room it joined before the message was sent', () => {
    expect(whyIgnored({ event: fixture('command-send'), botUserId: BOT, joinedAt: JOINED_LONG_AGO })).toBeUndefined();
  });

  it('never its own events, other bots’ notices, edits, encrypted messages, nor what was said before it joined', () => {
    const command = fixture('command-send');
    expect(whyIgnored({ event: { ...command, sender: BOT }, botUserId: BOT, joinedAt: JOINED_LONG_AGO })).toBe('own event');
    expect(whyIgnored({ event: fixture('notice-from-another-bot'), botUserId: BOT, joinedAt: JOINED_LONG_AGO })).toMatch(/notice/);
    expect(whyIgnored({ event: fixture('edit-of-command'), botUserId: BOT, joinedAt: JOINED_LONG_AGO })).toMatch(/edit/);
    expect(whyIgnored({ event: command, botUserId: BOT, joinedAt: command.origin_server_ts + 1 })).toMatch(/before the bot joined/);
    expect(whyIgnored({ event: command, botUserId: BOT, joinedAt: undefined })).toMatch(/not in the room/);
    expect(whyIgnored({ event: { ...command, type: 'm.reaction' }, botUserId: BOT, joinedAt: JOINED_LONG_AGO })).toBe('not a message');
    expect(whyIgnored({ event: { ...command, type: 'm.room.encrypted', content: { algorithm: 'm.megolm.v1.aes-sha2' } }, botUserId: BOT, joinedAt: JOINED_LONG_AGO })).toBe(ENCRYPTED);
  });

  it('invitations from an allowed user or from anyone of an allowed server, and no look-alike server', () => {
    const allowed = ['@amina:example.org', 'Mairie.example'];
    expect(isAllowedInviter({ inviter: '@amina:example.org', allowed })).toBe(true);
    expect(isAllowedInviter({ inviter: '@clerk:mairie.example', allowed })).toBe(true);
    expect(isAllowedInviter({ inviter: '@karim:example.org', allowed })).toBe(false);
    expect(isAllowedInviter({ inviter: '@clerk:evil-mairie.example', allowed })).toBe(false);
    expect(isAllowedInviter({ inviter: '@clerk:mairie.example.evil.test', allowed })).toBe(false);
  });
});

describe('how a command reads', () => {
  it('send takes the department and the subject from the first line and the body from the lines below', () => {
    expect(parseCommand({ text: writtenText(fixture('command-send').content), prefix: '!courrier' })).toEqual({
      kind: 'send',
      department: 'rh',
      subject: 'Demande de congé',
      body: 'Bonjour,\n\nje demande un congé du 3 au 7 mars.',
    });
  });

  it('status needs a number, the prefix alone or a send without department asks for help, other words are unknown', () => {
    const read = (text: string) => parseCommand({ text, prefix: '!courrier' });
    expect(read('!Courrier STATUS 2026-A-000012')).toEqual({ kind: 'status', number: '2026-A-000012' });
    expect(read('!courrier status')).toEqual({ kind: 'help' });
    expect(read('!courrier')).toEqual({ kind: 'help' });
    expect(read('!courrier send')).toEqual({ kind: 'help' });
    expect(read('!courrier send RH')).toEqual({ kind: 'send', department: 'RH', subject: undefined, body: '' });
    expect(read('!courrier envoyer RH')).toEqual({ kind: 'unknown', word: 'envoyer' });
  });

  it('is no command when the prefix is not the first word, or when another prefix is configured', () => {
    expect(parseCommand({ text: 'Tapez !courrier help pour l’aide', prefix: '!courrier' })).toBeUndefined();
    expect(parseCommand({ text: '!courrierx help', prefix: '!courrier' })).toBeUndefined();
    expect(parseCommand({ text: '!courrier help', prefix: '!bo' })).toBeUndefined();
    expect(parseCommand({ text: '!bo help', prefix: '!bo' })).toEqual({ kind: 'help' });
  });

  it('a file’s caption is its text, a file’s bare name is not, and a quoted reply fallback is dropped', () => {
    expect(writtenText(fixture('file-with-caption').content)).toBe('!courrier send URB Permis de construire\nMa demande signée.');
    expect(writtenText(fixture('image-without-caption').content)).toBe('');
    expect(writtenText(fixture('thread-answer-with-fallback').content)).toBe('Votre congé est accordé.');
  });

  it('file events name their media, type and size; encrypted files are out of reach', () => {
    expect(fileReferenceOf(fixture('file-with-caption').content)).toEqual({ mxc: 'mxc://example.org/aBcDeFgHiJkLmNoP', filename: 'demande.pdf', contentType: 'application/pdf', size: 48213 });
    expect(fileReferenceOf(fixture('image-without-caption').content)).toMatchObject({ filename: 'scan.jpg', contentType: 'image/jpeg' });
    expect(fileReferenceOf({ msgtype: 'm.file', body: 'secret.pdf', file: { url: 'mxc://example.org/enc' } })).toBeUndefined();
    expect(fileReferenceOf(fixture('command-send').content)).toBeUndefined();
  });
});

describe('what letters events become', () => {
  it('a command becomes a letter whose receipts go to the thread of the command, with the event kept as its original', () => {
    const event = fixture('command-send');
    const command = parseCommand({ text: writtenText(event.content), prefix: '!courrier' }) as Extract<ReturnType<typeof parseCommand>, { kind: 'send' }>;
    const letter = commandLetter({ event, command, attachments: [], displayName: 'Amina' });
    expect(letter).toMatchObject({
      channel: 'matrix',
      externalId: event.event_id,
      receivedAt: new Date(1772960400000),
      from: { channel: 'matrix', id: '@amina:example.org', displayName: 'Amina' },
      replyTo: { channel: 'matrix', id: event.room_id, thread: event.event_id },
      to: ['rh'],
      subject: 'Demande de congé',
    });
    const { unsigned, ...signed } = event as MatrixEventFacts & { unsigned: unknown };
    expect(unsigned).toBeDefined();
    expect(JSON.parse(Buffer.from(letter.raw!).toString('utf8'))).toEqual(signed);
  });

  it('the same event served again, older and with fields the serving homeserver added, keeps the same original bytes', () => {
    const event = fixture('command-send');
    const command = parseCommand({ text: writtenText(event.content), prefix: '!courrier' }) as Extract<ReturnType<typeof parseCommand>, { kind: 'send' }>;
    const servedAgain = { ...event, unsigned: { age: 86_400_000, 'm.relations': { 'm.thread': { count: 1 } } }, 'org.example.served_by': 'replica-2' };
    const first = commandLetter({ event, command, attachments: [], displayName: 'Amina' }).raw!;
    const again = commandLetter({ event: servedAgain, command, attachments: [], displayName: 'Amina' }).raw!;
    expect(Buffer.from(again).equals(Buffer.from(first))).toBe(true);
  });

  it('a command written inside a thread answers in that same thread, since threads do not nest', () => {
    const event = fixture('command-in-file-thread');
    const command = parseCommand({ text: writtenText(event.content), prefix: '!courrier' }) as Extract<ReturnType<typeof parseCommand>, { kind: 'send' }>;
    expect(commandLetter({ event, command, attachments: [], displayName: undefined }).replyTo?.thread).toBe('$F1leR00t000000000000000000000000000000000');
  });

  it('a reply in a forward’s thread becomes an answer bound by the thread’s token, answered in that thread', () => {
    const event = fixture('thread-answer-with-fallback');
    expect(answerLetter({ event, answerToken: 'token-of-the-letter', attachments: [], displayName: 'Service RH' })).toMatchObject({
      answerToken: 'token-of-the-letter',
      text: 'Votre congé est accordé.',
      replyTo: { channel: 'matrix', id: '!RhRoom000000000:example.org', thread: '$FoRwArD000000000000000000000000000000000000' },
      to: [],
    });
  });
});

const letter: LetterSummary = {
  number: '2026-A-000007',
  direction: 'incoming',
  channel: 'matrix',
  sender: { channel: 'matrix', id: '@amina:example.org' },
  subject: 'Demande de congé',
  departments: ['RH'],
  status: 'forwarded',
  registeredAt: new Date('2026-03-02T09:30:00Z'),
  receiptUrl: 'https://wasl.example/r/secret-token',
};
const departments: DepartmentView[] = [{ code: 'RH', names: { ar: 'الموارد البشرية', fr: 'Ressources humaines', en: 'Human resources' }, addresses: [], channels: {} }];

describe('what the bot posts', () => {
  const message = (overrides: Partial<OutboundMessage>): OutboundMessage => ({
    deliveryId: 42,
    kind: 'forward',
    to: { channel: 'matrix', id: '!RhRoom000000000:example.org' },
    subject: '[2026-A-000007] Demande de congé',
    text: 'Courrier 2026-A-000007\n<b>pas du HTML</b>',
    attachments: [],
    letter,
    attempt: 1,
    ...overrides,
  });

  it('a forward is a notice that starts its own thread and tells the department how to answer; HTML in the letter stays text', () => {
    const content = outboundNotice({ message: message({}), language: 'fr' });
    expect(content.msgtype).toBe('m.notice');
    expect(content['m.relates_to']).toBeUndefined();
    expect(content.body).toContain('répondez dans le fil de ce message');
    expect(content.formatted_body).toContain('&#60;b&#62;pas du HTML&#60;/b&#62;');
    expect(content.formatted_body).toContain('<strong>[2026-A-000007] Demande de congé</strong>');
  });

  it('a receipt or an answer goes into the sender’s thread', () => {
    const content = outboundNotice({ message: message({ kind: 'receipt', to: { channel: 'matrix', id: '!r:example.org', thread: '$command' } }), language: 'en' });
    expect(content['m.relates_to']).toEqual({ rel_type: 'm.thread', event_id: '$command', is_falling_back: true, 'm.in_reply_to': { event_id: '$command' } });
    expect(content.body).not.toContain('reply in the thread');
  });

  it('files are posted as images or files in the thread, and every part of a delivery keeps its transaction id across attempts', () => {
    const image = fileContent({ attachment: { filename: 'scan.png', contentType: 'image/png', content: new Uint8Array(3) }, mxc: 'mxc://example.org/x', thread: '$forward' });
    expect(image).toMatchObject({ msgtype: 'm.image', body: 'scan.png', url: 'mxc://example.org/x', info: { mimetype: 'image/png', size: 3 } });
    expect(fileContent({ attachment: { filename: undefined, contentType: 'application/pdf', content: new Uint8Array(1) }, mxc: 'mxc://e/y', thread: '$f' }).msgtype).toBe('m.file');
    expect(transactionId({ deliveryId: 42, part: 'message' })).toBe(transactionId({ deliveryId: 42, part: 'message' }));
    expect(new Set([transactionId({ deliveryId: 42, part: 'message' }), transactionId({ deliveryId: 42, part: 0 }), transactionId({ deliveryId: 43, part: 'message' })]).size).toBe(3);
  });

  it('status shows the receipt link to the letter’s sender only', () => {
    const toSender = statusText({ number: letter.number, letter, askedBy: '@amina:example.org', language: 'fr', timezone: 'Africa/Casablanca' });
    const toOther = statusText({ number: letter.number, letter, askedBy: '@karim:example.org', language: 'fr', timezone: 'Africa/Casablanca' });
    expect(toSender).toContain('transmis au service');
    expect(toSender).toContain(letter.receiptUrl);
    expect(toOther).toContain('2026-A-000007');
    expect(toOther).not.toContain(letter.receiptUrl);
    expect(toOther).not.toContain('Demande de congé');
    expect(statusText({ number: '2026-A-999999', letter: undefined, askedBy: '@amina:example.org', language: 'en', timezone: 'UTC' })).toBe('No letter has the number 2026-A-999999.');
  });

  it('refusals say why in the gateway’s language and list the departments', () => {
    const arabic = refusalText({ refusal: { reason: 'unknown-department', department: 'COMPTA' }, departments, language: 'ar' });
    expect(arabic).toContain('COMPTA');
    expect(arabic).toContain('RH (الموارد البشرية)');
    expect(refusalText({ refusal: { reason: 'too-large', limitBytes: 25 * 1024 * 1024 }, departments, language: 'en' })).toContain('25 MB');
  });
});

describe('how homeserver failures count for the outbox', () => {
  it('a rate limit is temporary and carries the delay the homeserver asked for', () => {
    const error = matrixFailure(new MatrixError({ errcode: 'M_LIMIT_EXCEEDED', error: 'Too many requests', retry_after_ms: 2500 }, 429), 'sending');
    expect(error).toMatchObject({ code: 'matrix.rate_limited', temporary: true, retryAfterMs: 2500 });
  });

  it('an unreachable or failing homeserver is temporary; a room the bot is not in is final', () => {
    expect(matrixFailure(new ConnectionError('fetch failed'), 'sending')).toMatchObject({ code: 'matrix.unreachable', temporary: true });
    expect(matrixFailure(new MatrixError({ errcode: 'M_UNKNOWN', error: 'oops' }, 502), 'sending')).toMatchObject({ temporary: true });
    expect(matrixFailure(new MatrixError({ errcode: 'M_FORBIDDEN', error: 'User not in room' }, 403), 'sending')).toMatchObject({ code: 'matrix.forbidden', temporary: false });
    expect(matrixFailure(new MatrixError({ errcode: 'M_TOO_LARGE', error: 'too big' }, 413), 'uploading')).toMatchObject({ code: 'letter.too_large', temporary: false });
  });
});
