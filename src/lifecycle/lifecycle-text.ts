/**
 * What a person is told about a letter's steps, in their language, from
 * `templates/lifecycle.<language>.yaml`: one book for every channel, so a refusal reads the same on
 * Slack, Matrix, email and the command line. The core's errors carry the English sentence.
 */
import type { Language } from '../config/config.schema.js';
import { loadPhrases } from '../templates/phrases.js';
import { CLOSE_OUTCOMES, type CloseOutcome } from './letter-events.js';
import { REFUSAL_CODES } from './letter-state.js';

/** Refusals of an event's own text, whatever the letter's state. */
const TEXT_CODES = ['event.text_too_long', 'event.text_empty'] as const;
export type LifecycleCode = (typeof REFUSAL_CODES)[number] | (typeof TEXT_CODES)[number];
const LIFECYCLE_CODES: readonly string[] = [...REFUSAL_CODES, ...TEXT_CODES];

const phrases = loadPhrases({ name: 'lifecycle', keys: [...REFUSAL_CODES, ...TEXT_CODES, ...CLOSE_OUTCOMES.map((outcome) => `outcomes.${outcome}` as const)] });

/** Whether an error's code is a refusal this book words (the others are the channel's to say). */
export function isLifecycleCode(code: string): code is LifecycleCode {
  return LIFECYCLE_CODES.includes(code);
}

/** The refusal as a sentence; `values` are the error's details (the letter's number and the refusal's params). */
export function refusalSentence({ language, code, values }: { language: Language; code: LifecycleCode; values: Record<string, unknown> | undefined }): string {
  const filled = Object.fromEntries(Object.entries(values ?? {}).map(([name, value]) => [name, String(value)]));
  return phrases.say({ language, key: code, values: filled });
}

export function outcomeName({ language, outcome }: { language: Language; outcome: CloseOutcome }): string {
  return phrases.say({ language, key: `outcomes.${outcome}` });
}
