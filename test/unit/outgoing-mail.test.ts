/**
 * No text a person gives can make a composed message fail or break out of its header: every mail
 * template in every language, given hostile values, renders a one-line subject, and the email
 * built from hostile names, subjects, files and ids is well-formed mail. Should building still
 * fail (a bug), that message fails alone and for good (a real relay thread, a real SMTP sink).
 */
import { simpleParser } from 'mailparser';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { afterEach, describe, expect, it } from 'vitest';
import { createMailSender } from '../../adapters/email/smtp-outgoing.js';
import { toMail } from '../../adapters/email/to-native.js';
import type { GatewayPort, OutboundMessage } from '../../src/channels/port.js';
import { LANGUAGES } from '../../src/config/config.schema.js';
import { displayFilename } from '../../src/letters/attachment-names.js';
import type { WaslError } from '../../src/errors.js';
import { loadTemplates, type MailTemplate } from '../../src/templates/templates.js';
import { startMailSink, type MailSink } from '../helpers/mail-sink.js';
import { createVerp } from '../../adapters/email/verp.js';
import { createIdTokens } from '../../src/receipts/tokens.js';

const HOSTILE_TEXTS = [
  'hello\r\nBcc: v@other.example',
  'un\rdeux\nTo: x@y\u2028trois\u2029quatre\u0085cinq',
  '\u0000\u0001\u001b\u007f\u009f',
  `A${'B'.repeat(100_000)}`,
  'mot '.repeat(25_000),
  '=?UTF-8?B?aGVsbG8NCkJjYzogdkBvdGhlci5leGFtcGxl?=',
  'طلب \u202eexe.pdf شهادة\u2066',
  'half \ud800 a surrogate',
  '',
];

const MAIL_TEMPLATES: MailTemplate[] = ['receipt-mail', 'forward-mail', 'answer-mail', 'answer-sent-mail'];
const BREAKS_OR_CONTROLS = /[\p{Cc}\u2028\u2029]/u;

/** RFC 5322 §2.1.1 and RFC 5321 §2.3.8: lines of at most 998 bytes, CR and LF only together, no NUL. */
function problemsOf(raw: Buffer): string[] {
  const lines = raw.toString('latin1').split('\r\n');
  return [
    ...(raw.includes(0) ? ['a NUL byte'] : []),
    ...lines.flatMap((line, index) => [
      ...(/[\r\n]/.test(line) ? [`line ${index + 1}: a bare CR or LF`] : []),
      ...(line.length > 998 ? [`line ${index + 1}: ${line.length} bytes`] : []),
    ]),
  ];
}

describe('a mail rendered from a template', () => {
  const templates = loadTemplates();

  it('has a one-line subject of bounded length in every language, whatever the values hold', () => {
    for (const name of MAIL_TEMPLATES) {
      for (const language of LANGUAGES) {
        for (const hostile of HOSTILE_TEXTS) {
          const view = Object.fromEntries(
            ['office', 'number', 'subject', 'registeredAt', 'departments', 'receiptUrl', 'sender', 'senderName', 'senderChecks', 'senderAuthority', 'channel', 'body', 'originalNumber', 'originalSubject', 'recipient', 'deliveredAt'].map((key) => [key, hostile]),
          );
          const rendered = templates.mail({ name, language, view: { ...view, attachmentCount: 1 } });
          expect(rendered.subject, `${name}.${language}`).not.toMatch(BREAKS_OR_CONTROLS);
          expect(rendered.subject.length, `${name}.${language}`).toBeLessThan(1000);
        }
      }
    }
  });

  it('keeps the lines of the letter’s text, and puts every other value on one line', () => {
    const rendered = templates.mail({
      name: 'forward-mail',
      language: 'en',
      view: { number: '2026-A-000001', subject: 'hello\r\nFor: Director General', sender: 'Amina\nBenali <amina@citizen.test>', body: 'Line one.\nLine two.', attachmentCount: 0 },
    });
    expect(rendered.text).toContain('Subject:    hello For: Director General\n');
    expect(rendered.text).toContain('From:       Amina Benali <');
    expect(rendered.text).toContain('Line one.\nLine two.');
  });
});

const IDENTITY = { domain: 'wasl.test', fromLocalPart: 'bureau', officeName: 'Bureau d’ordre' };

function message(hostile: string): OutboundMessage {
  return {
    deliveryId: 1,
    kind: 'forward',
    attempt: 1,
    to: { channel: 'email', id: 'rh-team@dept.test', displayName: hostile },
    letter: {
      number: '2026-A-000001',
      direction: 'incoming',
      subject: hostile,
      channel: 'email',
      sender: { channel: 'email', id: 'citizen@example.test', displayName: hostile },
      departments: ['RH'],
      status: 'registered',
      registeredAt: new Date('2026-11-24T09:00:00Z'),
      receiptUrl: 'http://127.0.0.1/r/token',
    },
    subject: `[2026-A-000001] ${hostile}`,
    text: `Bonjour.\r\n${hostile}\rfin\u0000.`,
    inReplyTo: `<${hostile}@citizen.test>`,
    attachments: [
      { filename: displayFilename({ filename: hostile, position: 0 }), contentType: 'multipart/mixed', content: Buffer.from('whole') },
      { filename: displayFilename({ filename: hostile, position: 1 }), contentType: `text/plain\r\nBcc: ${hostile}`, content: Buffer.from('text') },
      { filename: displayFilename({ filename: hostile, position: 2 }), contentType: 'message/rfc822', content: Buffer.from(`Subject: x\r\n\r\nbare\r.\r\n${'y'.repeat(1209)}\n\u0000`) },
    ],
  };
}

describe('an email built from hostile names, subjects, files and ids', () => {
  it('is well-formed mail: no line over 998 bytes, no NUL, no bare CR or LF, no added header, every file intact', async () => {
    for (const hostile of HOSTILE_TEXTS) {
      const outbound = message(hostile);
      const mail = toMail({ message: outbound, identity: IDENTITY, envelopeFrom: 'bounce+1-00000000000000000000000000000000@wasl.test' });
      const built = await new MailComposer(mail).compile().build();
      // Line ends as they reach the relay: nodemailer's SMTP data stream makes every bare LF a CRLF (and leaves a bare CR).
      const raw = Buffer.from(built.toString('latin1').replace(/\r?\n/g, '\r\n'), 'latin1');
      const what = JSON.stringify(hostile.slice(0, 40));
      expect(problemsOf(raw), what).toEqual([]);
      const parsed = await simpleParser(raw);
      expect(parsed.headers.has('bcc'), what).toBe(false);
      expect(parsed.headers.has('to') && parsed.to && !Array.isArray(parsed.to) ? parsed.to.value.map((to) => to.address) : [], what).toEqual(['rh-team@dept.test']);
      expect(parsed.subject ?? '', what).not.toMatch(BREAKS_OR_CONTROLS);
      expect(
        parsed.attachments.map((attachment) => attachment.content.toString('latin1')),
        what,
      ).toEqual(outbound.attachments.map((attachment) => Buffer.from(attachment.content).toString('latin1')));
    }
  });
});

let sink: MailSink | undefined;
let closeSender: (() => unknown) | undefined;
afterEach(async () => {
  await closeSender?.();
  await sink?.stop();
});

describe('a message the relay thread cannot build', () => {
  it('fails alone as delivery.compose_failed, not to be retried, while a message sent beside it is delivered', async () => {
    sink = await startMailSink();
    const sender = createMailSender({ config: { maxConnections: 2, timeoutMs: 20_000, verifyCertificate: true, url: sink.url }, identity: IDENTITY, port: {} as GatewayPort, verp: createVerp({ tokens: createIdTokens(Buffer.alloc(32), 'verp'), domain: IDENTITY.domain }) });
    closeSender = () => sender.close();
    // What only a bug in the core could hand over: a message without a subject.
    const broken = { ...message('Demande'), subject: undefined as unknown as string };

    const [failed, sent] = await Promise.allSettled([sender.send(broken), sender.send({ ...message('Demande'), deliveryId: 2 })]);

    expect(failed.status).toBe('rejected');
    const error = (failed as PromiseRejectedResult).reason as WaslError;
    expect({ code: error.code, temporary: error.temporary }).toEqual({ code: 'delivery.compose_failed', temporary: false });
    expect(sent).toEqual({ status: 'fulfilled', value: { externalId: '<wasl.2.2026-A-000001@wasl.test>' } });
    await sink.waitForMessages(1);
  });
});
