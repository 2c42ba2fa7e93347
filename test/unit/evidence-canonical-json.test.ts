import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/evidence/canonical-json.js';

describe('canonical JSON (RFC 8785)', () => {
  it('serialises numbers, strings and literals as the RFC example of §3.2.2 shows', () => {
    const input = JSON.parse('{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/","literals":[null,true,false]}');
    expect(canonicalJson(input)).toBe('{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}');
  });

  it('orders members by UTF-16 code units, as the RFC example of §3.2.3 shows', () => {
    const input = JSON.parse('{"\\u20ac":"Euro Sign","\\r":"Carriage Return","\\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\\ud83d\\ude00":"Emoji: Grinning Face","\\u0080":"Control","\\u00f6":"Latin Small Letter O With Diaeresis"}');
    // Read the values from the text: a parsed object would list "1" first, as JavaScript orders integer-like keys.
    const values = [...canonicalJson(input).matchAll(/:"([^"]*)"/g)].map((match) => match[1]);
    expect(values).toEqual([
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
  });

  it('gives the same bytes for the same facts whatever order they were written in, nested too', () => {
    expect(canonicalJson({ b: [{ z: 1, a: 'x' }], a: { d: null, c: 'مرحبا' } })).toBe(canonicalJson({ a: { c: 'مرحبا', d: null }, b: [{ a: 'x', z: 1 }] }));
    expect(canonicalJson({ a: 'مرحبا', b: [] })).toBe('{"a":"مرحبا","b":[]}');
  });

  it('refuses what has no canonical form instead of signing something else', () => {
    for (const value of [{ n: Number.NaN }, { n: Infinity }, { s: 'broken \ud800 surrogate' }, { d: new Date(0) }, { b: Buffer.from('x') }, [undefined]]) {
      expect(() => canonicalJson(value), JSON.stringify(value)).toThrow(expect.objectContaining({ code: 'evidence.not_canonical' }));
    }
  });
});
