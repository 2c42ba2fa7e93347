import { describe, expect, it } from 'vitest';
import { DISPLAY_LENGTH, ELLIPSIS, forDisplay } from '../../src/templates/display-text.js';

const codePoints = (text: string) => [...text].length;
const hasLoneSurrogate = (text: string) => /\p{Surrogate}/u.test(text);

describe('a text bounded for display', () => {
  it('is the text itself when it is short enough', () => {
    expect(forDisplay('Demande de permis', DISPLAY_LENGTH.subject)).toBe('Demande de permis');
    // Five characters of two UTF-16 units each are still five characters.
    expect(forDisplay('😀'.repeat(5), 5)).toBe('😀'.repeat(5));
  });

  it('ends with an ellipsis when it is too long, the limit counting the ellipsis', () => {
    const shown = forDisplay('x'.repeat(100_000), DISPLAY_LENGTH.subject);
    expect(shown).toBe(`${'x'.repeat(DISPLAY_LENGTH.subject - 1)}${ELLIPSIS}`);
    expect(codePoints(shown)).toBe(DISPLAY_LENGTH.subject);
  });

  it('drops the blank before the ellipsis', () => {
    expect(forDisplay('Objet tres long', 7)).toBe(`Objet${ELLIPSIS}`);
  });

  it('never splits a character of two UTF-16 units, nor an accent from its letter', () => {
    expect(forDisplay('a😀😀😀', 3)).toBe(`a😀${ELLIPSIS}`);
    const accented = 'e\u0301'.repeat(10);
    const shown = forDisplay(accented, 6);
    expect(shown).toBe(`${'e\u0301'.repeat(2)}${ELLIPSIS}`);
    // A family emoji is one grapheme of seven code points: kept whole or not at all.
    const family = '👨‍👩‍👧‍👦';
    expect(forDisplay(`ab${family}cd`, 8)).toBe(`ab${ELLIPSIS}`);
  });

  it('cuts a long text as it cuts its beginning, whatever stands past the limit', () => {
    const family = '👨‍👩‍👧‍👦';
    // The family starts within the limit and ends far past it: dropped whole, not cut inside.
    expect(forDisplay(`abc${family}${'d'.repeat(10_000)}`, 4)).toBe(`abc${ELLIPSIS}`);
    expect(forDisplay(`${'e\u0301'.repeat(5_000)}`, 5)).toBe(`${'e\u0301'.repeat(2)}${ELLIPSIS}`);
  });

  it('cuts a single grapheme longer than the limit between code points', () => {
    const shown = forDisplay(`😀${'\u0301'.repeat(1000)}`, 10);
    expect(codePoints(shown)).toBe(10);
    expect(shown.startsWith('😀')).toBe(true);
    expect(shown.endsWith(ELLIPSIS)).toBe(true);
    expect(hasLoneSurrogate(shown)).toBe(false);
  });

  it('refuses a limit that is not a positive whole number', () => {
    expect(() => forDisplay('x', 0)).toThrow(RangeError);
    expect(() => forDisplay('x', 2.5)).toThrow(RangeError);
  });
});
