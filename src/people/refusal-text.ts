/**
 * A refusal as the person who asked reads it, in their language: the sentences are the
 * `people.*` strings of templates/strings.<lang>.yaml, so translators find them with the others.
 */
import type { Language } from '../config/config.schema.js';
import { fillPhrase } from '../templates/phrases.js';
import type { Strings } from '../templates/templates.js';
import type { Grant } from './people.models.js';
import type { Refusal } from './permissions.js';

interface PeopleStrings {
  roles: Record<Grant['role'], string>;
  noRole: string;
  noDepartment: string;
  actions: Record<string, string>;
  refusals: { unknown: string; removed: string; notAllowed: string; notAllowedNewLetter: string };
}

export function refusalText({ refusal, language, strings }: { refusal: Refusal; language: Language; strings: Strings }): string {
  const words = strings['people'] as PeopleStrings;
  switch (refusal.code) {
    case 'person.unknown':
      return fillPhrase(words.refusals.unknown, refusal.params, language);
    case 'person.removed':
      return fillPhrase(words.refusals.removed, refusal.params, language);
    case 'person.not_allowed': {
      const { person, action, number, departments, grants } = refusal.params;
      // Each role is a phrase of its own ("head of RH"), filled without quoting: the whole list is one value of the sentence.
      const roles = grants.length === 0 ? words.noRole : grants.map(({ role, department }) => words.roles[role].replace('{department}', department ?? '')).join(', ');
      const values = { person, roles, action: words.actions[action]!, departments: departments.length === 0 ? words.noDepartment : departments.join(', ') };
      return number === undefined ? fillPhrase(words.refusals.notAllowedNewLetter, values, language) : fillPhrase(words.refusals.notAllowed, { ...values, number }, language);
    }
  }
}
