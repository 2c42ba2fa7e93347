/**
 * The language a letter is answered in (its receipt, its pages): the one its channel declares
 * (Content-Language, a Slack locale) when wasl speaks it, else the one its subject and text are
 * written in, else the office's. Most mail clients declare none, so a letter written in Arabic got
 * the office's French.
 *
 * Detection tells apart the three languages wasl speaks only, so a small rule does it, where a
 * general detector (franc and the like, trained on 80 to 400 languages) needs longer texts and is
 * more often wrong on a subject line: Arabic script against Latin script by words, then French
 * against English by their commonest words and French accents. It reads a few kilobytes at most.
 */
import { LANGUAGES, type Language } from '../config/config.schema.js';

/** Characters of the text looked at: a letter's language shows in its first lines, and a huge body costs no more than this. */
export const DETECTION_SAMPLE_CHARS = 4096;

// Words frequent in one language and rare in the other; ambiguous ones ("a", "on", "ou", "son") are left out.
const FRENCH_WORDS = new Set(
  'le la les de des du un une et est je vous nous il elle pour que qui dans au aux sur avec pas ne ce cette ces mon ma mes votre vos notre nos merci bonjour madame monsieur objet demande suite être avoir sont été par'.split(' '),
);
const ENGLISH_WORDS = new Set(
  'the and of to is i you we he she for that which in with not this these my your our please thank thanks dear hello regards request are was be have has been by from would'.split(' '),
);
const FRENCH_ACCENTED = /[àâçéèêëîïôûùüÿœ]/;

const ARABIC_SCRIPT = /\p{Script=Arabic}/u;
const LATIN_SCRIPT = /\p{Script=Latin}/u;

/** What is not the sender's own writing: quoted lines of a reply, links and addresses (Latin letters in any language). */
function ownWriting(text: string): string {
  return text
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('>'))
    .join('\n')
    .replace(/\b(?:https?:\/\/|www\.)\S+/gi, ' ')
    .replace(/\S+@\S+/g, ' ');
}

/** The language of a subject and text among ar, fr and en; undefined when they do not tell (too short, another language). */
export function detectLanguage({ subject, text }: { subject?: string | undefined; text?: string | undefined }): Language | undefined {
  // Quoted lines are dropped from a bounded slice only, then the sample is bounded again.
  const sample = ownWriting(`${(subject ?? '').slice(0, DETECTION_SAMPLE_CHARS)}\n${(text ?? '').slice(0, DETECTION_SAMPLE_CHARS * 4)}`).slice(0, DETECTION_SAMPLE_CHARS);
  let arabic = 0;
  let latin = 0;
  let french = 0;
  let english = 0;
  for (const [word] of sample.matchAll(/\p{L}+/gu)) {
    if (ARABIC_SCRIPT.test(word)) {
      arabic += 1;
    } else if (LATIN_SCRIPT.test(word)) {
      latin += 1;
      const lower = word.toLowerCase();
      if (FRENCH_WORDS.has(lower) || FRENCH_ACCENTED.test(lower)) french += 1;
      if (ENGLISH_WORDS.has(lower)) english += 1;
    }
  }
  if (arabic > latin) return 'ar';
  if (french > english) return 'fr';
  if (english > french) return 'en';
  return undefined;
}

function supported(tag: string | undefined): Language | undefined {
  const primary = tag?.trim().toLowerCase().slice(0, 2);
  return LANGUAGES.find((language) => language === primary);
}

/** The letter's language: declared and spoken by wasl, else detected, else the office's. */
export function letterLanguage({
  declared,
  subject,
  text,
  fallback,
}: {
  declared: string | undefined;
  subject: string | undefined;
  text: string | undefined;
  fallback: Language;
}): Language {
  return supported(declared) ?? detectLanguage({ subject, text }) ?? fallback;
}
