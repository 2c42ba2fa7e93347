/**
 * Right-to-left text for pdfkit. pdfkit draws strings left to right and leaves shaping to fontkit,
 * which joins Arabic letters and reverses a run when it detects a right-to-left script; neither
 * orders mixed text (Arabic with numbers, addresses, Latin names). So each line goes through the
 * Unicode Bidirectional Algorithm (UAX #9, bidi-js) here, and is cut into runs of one direction,
 * returned in visual order, each prepared so that fontkit's own reversal gives the right result.
 *
 * Levels are resolved per line rather than per paragraph (UAX #9 §3.4 resolves them before wrapping);
 * for the short fields of a receipt the two agree.
 */
import { createRequire } from 'node:module';
import type { Bidi } from 'bidi-js';

export type TextDirection = 'ltr' | 'rtl';

// bidi-js is a UMD bundle whose types describe an ES default export: Node and vitest disagree on
// what `import x from` yields for it, require() yields the factory in both.
const bidiFactory = createRequire(import.meta.url)('bidi-js') as () => Bidi;
const bidi = bidiFactory();

/** Scripts fontkit lays out right to left (its Script.direction list), as Unicode script names. */
const RIGHT_TO_LEFT_SCRIPT = /[\p{Script=Arabic}\p{Script=Hebrew}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\p{Script=Samaritan}\p{Script=Mandaic}]/u;
const NEUTRAL_SCRIPT = /[\p{Script=Common}\p{Script=Inherited}]/u;

const FIRST_STRONG_ISOLATE = '\u2068';
const LEFT_TO_RIGHT_ISOLATE = '\u2066';
const RIGHT_TO_LEFT_ISOLATE = '\u2067';
const POP_DIRECTIONAL_ISOLATE = '\u2069';
/** Explicit directional formatting characters (UAX #9 §2): they steer the algorithm and are never drawn. */
const FORMATTING_CHARACTERS = /[\u200E\u200F\u061C\u202A-\u202E\u2066-\u2069]/gu;

/** Text whose direction follows its own first strong character (a name, a subject), set apart from its neighbours. */
export function isolate(text: string): string {
  return FIRST_STRONG_ISOLATE + text + POP_DIRECTIONAL_ISOLATE;
}

/** Text that always reads left to right (a number like 2026-A-000123, a hash, an address), set apart from its neighbours. */
export function leftToRight(text: string): string {
  return LEFT_TO_RIGHT_ISOLATE + text + POP_DIRECTIONAL_ISOLATE;
}

/** What gets drawn of a text: everything but the formatting characters. */
export function drawable(text: string): string {
  return text.replace(FORMATTING_CHARACTERS, '');
}

/**
 * The strings to draw from left to right for one line. fontkit decides a run's direction from its
 * first character of a script other than Common/Inherited; a run whose visual order differs from
 * what fontkit will do (neutrals between Arabic words, Arabic-Indic digits) is reversed here.
 */
export function visualRuns({ text, direction }: { text: string; direction: TextDirection }): string[] {
  if (text === '') return [];
  const levels = bidi.getEmbeddingLevels(text, direction);
  const mirrored = bidi.getMirroredCharactersMap(text, levels.levels);
  const order = bidi.getReorderedIndices(text, levels);
  const runs: string[] = [];
  let start = 0;
  while (start < order.length) {
    const rightToLeft = (levels.levels[order[start]!]! & 1) === 1;
    let end = start + 1;
    while (end < order.length && order[end] === order[end - 1]! + (rightToLeft ? -1 : 1) && ((levels.levels[order[end]!]! & 1) === 1) === rightToLeft) end++;
    const logicalIndices = order.slice(start, end);
    if (rightToLeft) logicalIndices.reverse();
    const logical = drawable(logicalIndices.map((index) => mirrored.get(index) ?? text[index]!).join(''));
    if (logical !== '') runs.push(fontkitReverses(logical) === rightToLeft ? logical : reverseCharacters(logical));
    start = end;
  }
  return runs;
}

/** Whether fontkit will lay this run out right to left (and so reverse its glyphs). */
function fontkitReverses(run: string): boolean {
  for (const character of run) {
    if (!NEUTRAL_SCRIPT.test(character)) return RIGHT_TO_LEFT_SCRIPT.test(character);
  }
  return false;
}

/** By code point, keeping combining marks after their base so they still attach. */
function reverseCharacters(run: string): string {
  const clusters: string[] = [];
  for (const character of run) {
    if (/\p{M}/u.test(character) && clusters.length > 0) clusters[clusters.length - 1] += character;
    else clusters.push(character);
  }
  return clusters.reverse().join('');
}

/**
 * Greedy wrapping at spaces; a word longer than a line (a hash, a URL) is cut where it must.
 * `measure` gives the width of drawable text in the unit of `width`. An isolate cut by a line end
 * is opened again on the next line, so its text keeps its direction there.
 */
export function wrapText({ text, width, measure }: { text: string; width: number; measure: (text: string) => number }): string[] {
  return reopenIsolates(wrapWords({ text, width, measure: (part) => measure(drawable(part)) }));
}

function reopenIsolates(lines: string[]): string[] {
  const open: string[] = [];
  return lines.map((line) => {
    const reopened = open.join('') + line;
    for (const character of line) {
      if (character === FIRST_STRONG_ISOLATE || character === LEFT_TO_RIGHT_ISOLATE || character === RIGHT_TO_LEFT_ISOLATE) open.push(character);
      else if (character === POP_DIRECTIONAL_ISOLATE) open.pop();
    }
    return reopened;
  });
}

function wrapWords({ text, width, measure }: { text: string; width: number; measure: (text: string) => number }): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/(?<= )/)) {
    if (measure(line + word) <= width) {
      line += word;
      continue;
    }
    if (line !== '') lines.push(line.trimEnd());
    let start = 0;
    for (let end = fittingEnd({ text: word, start, width, measure }); end < word.length; end = fittingEnd({ text: word, start, width, measure })) {
      lines.push(word.slice(start, end));
      start = end;
    }
    line = word.slice(start);
  }
  if (line.trimEnd() !== '' || lines.length === 0) lines.push(line.trimEnd());
  return lines;
}

/**
 * Where the line that starts at `start` must end: the longest piece that fits (at least one code
 * point), ending on a code point boundary; `text.length` when the rest fits. The piece is found by
 * doubling its length, then halving the gap, so the characters measured for a line grow with the
 * line's length (times its logarithm), not with the text's: measuring every prefix of the rest,
 * as this did, made a 20,000-character word without a space take half a minute (issue 18).
 */
function fittingEnd({ text, start, width, measure }: { text: string; start: number; width: number; measure: (text: string) => number }): number {
  const fits = (end: number) => measure(text.slice(start, end).trimEnd()) <= width;
  let good = codePointEnd(text, start + 1);
  let step = 1;
  let bad = text.length + 1;
  while (good < text.length) {
    const probe = codePointEnd(text, Math.min(good + step, text.length));
    if (!fits(probe)) {
      bad = probe;
      break;
    }
    good = probe;
    step *= 2;
  }
  while (bad - good > 1) {
    const middle = codePointEnd(text, Math.floor((good + bad) / 2));
    if (middle >= bad) break;
    if (fits(middle)) good = middle;
    else bad = middle;
  }
  return good;
}

/** `index`, moved past the low half of a surrogate pair it would split. */
function codePointEnd(text: string, index: number): number {
  const before = text.charCodeAt(index - 1);
  return index < text.length && before >= 0xd800 && before <= 0xdbff ? index + 1 : index;
}
