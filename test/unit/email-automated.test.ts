/**
 * Which messages a machine wrote, so that they never get a receipt: out-of-office replies in
 * Arabic, French and English, bounces whatever their shape, and never a citizen's own letter.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { detectAutomated } from '../../adapters/email/to-letter.js';
import { SISIMAI_BOUNCES_DIR } from '../fixtures/corpus/index.js';

async function kindOf({ headers, mailFrom = 'someone@citizen.test', body = 'Bonjour' }: { headers: string; mailFrom?: string; body?: string }) {
  const parsed = await simpleParser(Buffer.from(`From: Someone <someone@citizen.test>\r\nTo: rh@wasl.local\r\n${headers}\r\n\r\n${body}\r\n`, 'utf8'));
  return detectAutomated({ parsed, mailFrom });
}

describe('an out-of-office reply is recognised by its subject', () => {
  it.each([
    'Automatic reply: Demande de certificat',
    'Réponse automatique : Demande de certificat',
    'Reponse automatique: votre message',
    'Out of Office: Permis de construire',
    'Out of Office AutoReply: Permis',
    'Absent du bureau : Demande',
    "Message d'absence",
    'Auto: Demande de certificat',
    'AutoReply',
    'رد تلقائي: طلب شهادة',
    'الرد التلقائي',
    'خارج المكتب: طلب',
  ])('"%s" is an auto-reply', async (subject) => {
    expect(await kindOf({ headers: `Subject: ${subject}` })).toBe('auto-reply');
  });

  it('also when the subject is MIME-encoded (RFC 2047)', async () => {
    const encoded = `=?UTF-8?B?${Buffer.from('رد تلقائي: طلب شهادة', 'utf8').toString('base64')}?=`;
    expect(await kindOf({ headers: `Subject: ${encoded}` })).toBe('auto-reply');
  });
});

describe("a citizen's letter is not taken for a machine's", () => {
  it.each([
    'Absence',
    'Absence de mon fils le 12 mars',
    'Justificatif d’absence',
    'Automobile: demande de stationnement',
    'Re: Out of office hours opening of the town hall',
    'Ma voiture (auto) a été enlevée',
    'غياب ابني',
    'Returning my mail to the right department',
  ])('"%s" gets a receipt like any letter', async (subject) => {
    expect(await kindOf({ headers: `Subject: ${subject}` })).toBeUndefined();
  });
});

describe('a bounce is recognised', () => {
  it.each([
    ['a multipart/report delivery-status', 'Subject: x\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=b', 'bounce'],
    ['an ARF abuse report', 'Subject: x\r\nContent-Type: multipart/report; report-type=feedback-report; boundary=b', 'report'],
    ['a plain-text qmail bounce by its subject', 'Subject: failure notice', 'bounce'],
    ['an Exchange NDR by its subject', 'Subject: Undeliverable: Demande', 'bounce'],
  ])('%s', async (_label, headers, kind) => {
    expect(await kindOf({ headers, body: '--b--' })).toBe(kind);
  });

  it('from a daemon in the From header even with a non-null envelope sender', async () => {
    const parsed = await simpleParser(Buffer.from('From: Mail Delivery System <MAILER-DAEMON@mx.example.org>\r\nSubject: Nyaan\r\n\r\nx\r\n'));
    expect(detectAutomated({ parsed, mailFrom: 'relay@example.org' })).toBe('bounce');
  });

  it('and a null sender without a bounce mark is an auto-reply (RFC 3834 §3.3)', async () => {
    expect(await kindOf({ headers: 'Subject: Je suis absent', mailFrom: '' })).toBe('auto-reply');
  });
});

describe('the bounces of the public corpus', () => {
  /** A person forwarding a bounce wrote a letter, not a machine. */
  const WRITTEN_BY_A_PERSON = new Set(['lhost-sendmail-14.eml']);

  it('are recognised as machine-written by their content alone, even from a non-null envelope sender', async () => {
    const names = readdirSync(SISIMAI_BOUNCES_DIR).filter((name) => name.endsWith('.eml'));
    expect(names).toHaveLength(148);
    const missed: string[] = [];
    for (const name of names) {
      const parsed = await simpleParser(readFileSync(join(SISIMAI_BOUNCES_DIR, name)));
      if (!detectAutomated({ parsed, mailFrom: 'relay@corpus.test' }) && !WRITTEN_BY_A_PERSON.has(name)) missed.push(name);
    }
    expect(missed).toEqual([]);
  });
});
