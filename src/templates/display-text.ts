/**
 * Texts a sender chose, bounded for display. The register and the signed statement keep every
 * value as given (the JSON receipt shows it in full); what a page, a PDF or a message shows is cut
 * to a length a reader can use and a renderer lays out in bounded time: a subject of 100,000
 * characters without a space took a PDF renderer minutes (issue 18).
 *
 * Limits of `forDisplay`, for whoever reuses it:
 * - it counts code points, not display width: a line of wide characters (CJK, emoji) looks longer
 *   than one of Latin letters of the same count;
 * - it cuts between grapheme clusters (UAX #29), so a letter keeps its accents and an emoji its
 *   modifiers; only a single cluster longer than the whole limit is cut inside, and then between
 *   code points, never inside a surrogate pair;
 * - it changes nothing else: line breaks, control and bidirectional formatting characters stay
 *   (a header needs its text on one line, an attachment name needs `displayFilename`).
 */

export const ELLIPSIS = '\u2026';

/**
 * How many code points each kind of text shows at most. Generous for real letters (a subject is
 * rarely over 100 characters, an address is at most 254 (RFC 5321 §4.5.3.1 limits the path to 256
 * with its brackets), a media type at most 255 (RFC 6838 §4.2)), small enough for one screen.
 */
export const DISPLAY_LENGTH = {
  subject: 300,
  /** A person's or a department's name. */
  name: 120,
  /** An e-mail address or a chat user id. */
  address: 254,
  contentType: 100,
} as const;

const GRAPHEMES = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * `text` as shown: unchanged when it has at most `maxCharacters` code points, else its beginning
 * and an ellipsis, `maxCharacters` code points in all. Time and memory grow with `maxCharacters`,
 * not with the text (except for a single grapheme cluster longer than the limit, read once).
 */
export function forDisplay(text: string, maxCharacters: number): string {
  if (!Number.isInteger(maxCharacters) || maxCharacters < 1) throw new RangeError(`maxCharacters must be a positive integer, not ${maxCharacters}`);
  // Each code point is one or two code units: a text this short in units is short enough in points.
  if (text.length <= maxCharacters) return text;
  const room = maxCharacters - ELLIPSIS.length;
  let codePoints = 0;
  let cut = 0;
  // Intl.Segmenter copies the whole text before it yields a cluster: a letter's 4 KB body, bounded
  // for a subject line, cost 0.2 ms and hundreds of KB of garbage a call (bench/RESULTS.md, memory).
  // It is given only what the loop can reach: 2 × (maxCharacters + 1) units hold more than
  // maxCharacters code points, so the loop stops within them; only their last cluster may be cut
  // short of the text's, and the loop stops at that one, or before, all the same.
  for (const { segment, index } of GRAPHEMES.segment(text.slice(0, 2 * (maxCharacters + 1)))) {
    codePoints += codePointCount(segment);
    if (codePoints > maxCharacters) break;
    if (codePoints <= room) cut = index + segment.length;
  }
  if (codePoints <= maxCharacters) return text;
  const kept = cut > 0 ? text.slice(0, cut) : firstCodePoints(text, room);
  return kept.trimEnd() + ELLIPSIS;
}

function codePointCount(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

function firstCodePoints(text: string, count: number): string {
  let end = 0;
  let taken = 0;
  for (const character of text) {
    if (taken === count) break;
    end += character.length;
    taken++;
  }
  return text.slice(0, end);
}
