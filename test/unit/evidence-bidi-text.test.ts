import { describe, expect, it } from 'vitest';
import { isolate, leftToRight, visualRuns, wrapText } from '../../src/evidence/bidi-text.js';

describe('right-to-left text for the PDF', () => {
  it('draws an Arabic label with a number: the label on the right, the number left to right', () => {
    // fontkit reverses an Arabic run itself, so the Arabic run is handed over in reading order.
    expect(visualRuns({ text: `رقم التسجيل ${leftToRight('2026-A-000123')}`, direction: 'rtl' })).toEqual(['2026-A-000123', 'رقم التسجيل ']);
  });

  it('keeps an Arabic name before an address in an Arabic line, and mirrors brackets around Arabic words', () => {
    expect(visualRuns({ text: `${isolate('فاطمة')} ${leftToRight('<f@example.ma>')}`, direction: 'rtl' })).toEqual(['<f@example.ma>', 'فاطمة ']);
    expect(visualRuns({ text: isolate('طلب (مستعجل)'), direction: 'ltr' })).toEqual(['طلب )مستعجل(']);
  });

  it('leaves a French line alone, and draws no formatting character', () => {
    expect(visualRuns({ text: `Objet : ${isolate('Permis')}`, direction: 'ltr' })).toEqual(['Objet : Permis']);
  });

  it('mirrors brackets that stand alone in right-to-left text, around a number', () => {
    // Drawn left to right: "(" (the closing bracket, mirrored), 2026, then fontkit reverses "سنة )" into ") سنة".
    expect(visualRuns({ text: 'سنة (2026)', direction: 'rtl' })).toEqual(['(', '2026', 'سنة )']);
  });

  it('wraps at spaces, cuts what cannot fit, and opens an isolate again on the next line', () => {
    const measure = (text: string) => text.length;
    expect(wrapText({ text: 'one two three', width: 8, measure })).toEqual(['one two', 'three']);
    expect(wrapText({ text: 'a'.repeat(20), width: 8, measure })).toEqual(['aaaaaaaa', 'aaaaaaaa', 'aaaa']);
    const lines = wrapText({ text: `S: ${isolate('طلب شهادة العمل')}`, width: 10, measure });
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.slice(1).every((line) => line.startsWith('\u2068'))).toBe(true);
  });

  it('wraps a word of 100,000 characters measuring about as many characters as the word has, not their square', () => {
    let measured = 0;
    const measure = (text: string) => {
      measured += text.length;
      return text.length;
    };
    const word = 'x'.repeat(100_000);
    const lines = wrapText({ text: word, width: 80, measure });
    expect(lines.join('')).toBe(word);
    expect(lines.every((line) => line.length === 80)).toBe(true);
    // Measuring every prefix of the rest, as the wrapping once did, measured over 100 million.
    expect(measured).toBeLessThan(20 * word.length);
  });

  it('never cuts a character of two UTF-16 units in half', () => {
    const measure = (text: string) => [...text].length;
    expect(wrapText({ text: '😀'.repeat(7), width: 3, measure })).toEqual(['😀😀😀', '😀😀😀', '😀']);
    expect(wrapText({ text: `a${'😀'.repeat(4)}`, width: 2, measure })).toEqual(['a😀', '😀😀', '😀']);
  });
});
