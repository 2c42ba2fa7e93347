/**
 * Texts a person gave (a subject, a name) as they may stand in a mail header or a message's
 * subject line: one line, then bounded by `forDisplay` (display-text.ts). The register keeps them as
 * given; only what is sent changes.
 */

/**
 * Line breaks (CR, LF, NEL, U+2028, U+2029), NUL and every other C0 or C1 control. A header
 * field is one line (RFC 5322 §2.2: CR and LF only to fold); a decoded encoded word like
 * `=?UTF-8?B?aGVsbG8NCkJjYzogdkBvdGhlci5leGFtcGxl?=` ("hello\r\nBcc: …") must not become two.
 */
const BREAKS_AND_CONTROLS = /[\p{Cc}\u2028\u2029]+/gu;

/** The text on one line: each run of line breaks and controls, with the spaces around it, becomes one space. */
export function oneLine(text: string): string {
  return text.replace(BREAKS_AND_CONTROLS, ' ').replace(/ {2,}/g, ' ').trim();
}
