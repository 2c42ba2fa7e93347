import { describe, expect, it } from 'vitest';
import { escapeNul, unescapeNul } from '../../src/db/columns.pg.js';

describe('PostgreSQL text escape', () => {
  it('stores no U+0000 and reads every text back exactly', () => {
    const texts = ['plain', 'a\u0000b', '\u0000', '\uE000', '\uE0000', '\uE000\uE000\u0000', '\u0000\uE0000', 'مرحبا\u0000'];
    for (const text of texts) {
      expect(escapeNul(text)).not.toContain('\u0000');
      expect(unescapeNul(escapeNul(text))).toBe(text);
    }
  });

  it('leaves text without U+0000 or U+E000 as it is', () => {
    expect(escapeNul('bureau d’ordre مكتب الضبط')).toBe('bureau d’ordre مكتب الضبط');
  });
});
