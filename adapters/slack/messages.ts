/**
 * What the Slack adapter says to people, in the three languages of wasl: the sentences are in
 * templates/slack.<language>.yaml (whole sentences, `{name}` placeholders filled by `say`).
 * Letters themselves (forwards, receipts, answers) are rendered by the core from templates/.
 */
import type { Language } from '../../src/config/config.schema.js';
import { LETTER_STATUSES, type LetterAction, type LetterStatus } from '../../src/channels/port.js';
import { loadPhrases } from '../../src/templates/phrases.js';
import { isLanguage } from '../../src/templates/templates.js';

const PHRASE_KEYS = [
  'help',
  'unknownCommand',
  'unknownDepartment',
  'unknownNumber',
  'missingNumber',
  'sendUsage',
  'emptyBody',
  'registered',
  'alreadyRegistered',
  'answerRegistered',
  'notRegistered',
  'notConfirmed',
  'tooLarge',
  'fileUnreadable',
  'modalUnavailable',
  'noDepartmentHere',
  'listEmpty',
  'listHeading',
  'statusLine',
  'statusDepartments',
  'modalTitle',
  'modalSubmit',
  'modalCancel',
  'modalDone',
  'fieldDepartment',
  'fieldDepartmentPlaceholder',
  'fieldSubject',
  'fieldBody',
  'fieldFiles',
  'receiptLink',
  'forwardHeading',
  'forwardFrom',
  'forwardSubject',
  'forwardFiles',
  'forwardReplyHint',
  'acknowledge',
  'transferTo',
  'closeAs',
  'closeChooseOutcome',
  'acknowledged',
  'transferred',
  'closed',
  'actionRefused',
  'answerNotRegistered',
] as const;

export type PhraseKey = (typeof PHRASE_KEYS)[number];

const phrases = loadPhrases({ name: 'slack', keys: [...PHRASE_KEYS, ...LETTER_STATUSES.map((status) => `statuses.${status}` as const)] });

/** Slack locales look like `fr-FR`; anything we do not speak falls back to the default. */
export function languageOfLocale({ locale, fallback }: { locale: string | undefined; fallback: Language }): Language {
  const primary = locale?.slice(0, 2).toLowerCase();
  return isLanguage(primary) ? primary : fallback;
}

/** A phrase in one language with its `{placeholders}` filled; unknown placeholders stay visible. */
export function say({ language, key, values }: { language: Language; key: PhraseKey; values?: Record<string, string | number> }): string {
  return phrases.say({ language, key, values });
}

export function statusName({ language, status }: { language: Language; status: LetterStatus }): string {
  return phrases.say({ language, key: `statuses.${status}` });
}

/** The steps a forward's buttons and selects take. */
export type PressAction = Extract<LetterAction, 'acknowledged' | 'transferred' | 'closed'>;

export const ACTION_PHRASE: Record<PressAction, PhraseKey> = {
  acknowledged: 'acknowledged',
  transferred: 'transferred',
  closed: 'closed',
};
