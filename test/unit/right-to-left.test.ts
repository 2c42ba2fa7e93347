/**
 * Arabic texts show what they quote as written: a registration number, an address, a Latin
 * subject. Checked on the order a reader sees, by the Unicode Bidirectional Algorithm (bidi-js,
 * as browsers and mail clients apply it), each line a paragraph whose direction is its first
 * strong character.
 */
import { createRequire } from 'node:module';
import type { Bidi } from 'bidi-js';
import { describe, expect, it } from 'vitest';
import type { LetterSummary } from '../../src/channels/port.js';
import { drawable } from '../../src/evidence/bidi-text.js';
import { loadTemplates } from '../../src/templates/templates.js';
import { say } from '../../adapters/slack/messages.js';
import { statusText } from '../../adapters/matrix/to-native.js';

const bidi = (createRequire(import.meta.url)('bidi-js') as () => Bidi)();

/** A line as displayed, left to right (explicit formatting characters are not drawn). */
function shown(line: string): string {
  const order = bidi.getReorderedIndices(line, bidi.getEmbeddingLevels(line));
  return drawable(order.map((index) => line[index]).join(''));
}

const NUMBER = '2026-A-000123';

describe('an Arabic text quoting a number, an address or a Latin subject', () => {
  it('shows them as written in the receipt mail', () => {
    const mail = loadTemplates().mail({
      name: 'receipt-mail',
      language: 'ar',
      view: {
        office: 'مكتب الضبط',
        number: NUMBER,
        subject: 'Demande (urgente)',
        registeredAt: '25 نونبر 2026',
        departments: 'الموارد البشرية',
        receiptUrl: 'https://courrier.example.gov/r/abc',
        senderName: 'Amina B.',
        senderAddress: 'amina@citizen.test',
        channel: 'email',
        body: 'سطر أول\nسطر ثان',
      },
    });
    const linesWithNumber = mail.text.split('\n').filter((line) => line.includes(NUMBER));
    expect(linesWithNumber.length).toBeGreaterThanOrEqual(2);
    for (const line of linesWithNumber) expect(shown(line)).toContain(NUMBER);
    const subjectLine = mail.text.split('\n').find((line) => line.includes('Demande'))!;
    expect(shown(subjectLine)).toContain('Demande (urgente)');
  });

  it('shows them as written in what the Slack and Matrix bots say', () => {
    expect(shown(say({ language: 'ar', key: 'registered', values: { number: NUMBER, departments: 'RH' } }))).toContain(NUMBER);
    const letter: LetterSummary = {
      number: NUMBER,
      direction: 'incoming',
      channel: 'matrix',
      sender: { channel: 'matrix', id: '@a:hs.test' },
      subject: 'Congé',
      departments: ['RH'],
      status: 'registered',
      registeredAt: new Date('2026-11-25T09:00:00Z'),
      receiptUrl: 'https://courrier.example.gov/r/abc',
    };
    const status = statusText({ number: NUMBER, letter, askedBy: '@b:hs.test', language: 'ar', timezone: 'UTC' });
    expect(shown(status)).toContain(NUMBER);
  });

  it('leaves links bare, so no mail client takes an invisible mark into the receipt address', () => {
    const mail = loadTemplates().mail({
      name: 'receipt-mail',
      language: 'ar',
      view: { office: 'مكتب الضبط', number: NUMBER, subject: 'x', registeredAt: 'اليوم', departments: 'RH', receiptUrl: 'https://courrier.example.gov/r/abc', senderName: 'A', senderAddress: 'a@b.test', channel: 'email' },
    });
    expect(mail.text.split('\n')).toContain('https://courrier.example.gov/r/abc');
    expect(say({ language: 'ar', key: 'registered', values: { number: 'https://x.test/r/a', departments: 'a@b.test' } })).not.toMatch(/[\u2066-\u2069]/);
  });

  it('leaves French and English texts as they were: nothing invisible is added', () => {
    expect(say({ language: 'fr', key: 'registered', values: { number: NUMBER, departments: 'RH' } })).toContain(`*${NUMBER}*`);
    const mail = loadTemplates().mail({ name: 'receipt-mail', language: 'en', view: { office: 'Office', number: NUMBER, subject: 'x', registeredAt: 'now', departments: 'HR', receiptUrl: 'https://x/r/a', senderName: 'A', senderAddress: 'a@b.test', channel: 'email' } });
    expect(mail.text).not.toMatch(/[\u2066-\u2069]/);
  });
});
