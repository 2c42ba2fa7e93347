/** The chat bots' sentences come from templates/<bot>.<language>.yaml, checked whole at start. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPhrases } from '../../src/templates/phrases.js';

const KEYS = ['registered', 'unknownLetter', 'status.closed'] as const;
let directory: string | undefined;

function templatesWith(files: Record<string, string>): string {
  directory = mkdtempSync(join(tmpdir(), 'wasl-phrases-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(directory, name), text);
  return directory;
}

const complete = (word: string) => `registered: "${word} *{number}* → {departments}"\nunknownLetter: "${word} {number}?"\nstatus:\n  closed: ${word}-closed\n`;

afterEach(() => {
  if (directory) rmSync(directory, { recursive: true, force: true });
  directory = undefined;
});

describe('the chat bots\' phrases', () => {
  it('are said in the asked language with their placeholders filled, once: a value holding braces is not filled again', () => {
    const dir = templatesWith({ 'bot.ar.yaml': complete('سجل'), 'bot.fr.yaml': complete('Enregistré'), 'bot.en.yaml': complete('Registered') });
    const { say } = loadPhrases({ name: 'bot', keys: KEYS, directory: dir });
    expect(say({ language: 'fr', key: 'registered', values: { number: '2026-A-000001', departments: '{number}' } })).toBe('Enregistré *2026-A-000001* → {number}');
    expect(say({ language: 'ar', key: 'status.closed' })).toBe('سجل-closed');
    // A placeholder given no value stays visible rather than vanishing from the sentence.
    expect(say({ language: 'en', key: 'unknownLetter' })).toBe('Registered {number}?');
  });

  it('stop the gateway at start when a language lacks a phrase, naming the file and the phrase', () => {
    const dir = templatesWith({ 'bot.ar.yaml': complete('a'), 'bot.fr.yaml': complete('b').replace(/^unknownLetter:.*\n/m, ''), 'bot.en.yaml': complete('c') });
    expect(() => loadPhrases({ name: 'bot', keys: KEYS, directory: dir })).toThrow(`${join(dir, 'bot.fr.yaml')}: the phrase "unknownLetter" is missing`);
  });

  it('stop the gateway at start on a phrase the bot does not know (a misspelt key would never be said)', () => {
    const dir = templatesWith({ 'bot.ar.yaml': complete('a'), 'bot.fr.yaml': complete('b'), 'bot.en.yaml': `${complete('c')}registred: typo\n` });
    expect(() => loadPhrases({ name: 'bot', keys: KEYS, directory: dir })).toThrow(`${join(dir, 'bot.en.yaml')}: no phrase is called "registred"`);
  });

  it('are shipped complete for Slack and Matrix in Arabic, French and English', async () => {
    // Loading the adapters' phrase modules checks every shipped file whole.
    const slack = await import('../../adapters/slack/messages.js');
    const matrix = await import('../../adapters/matrix/to-native.js');
    expect((['ar', 'fr', 'en'] as const).map((language) => slack.say({ language, key: 'modalTitle' }))).toEqual(['إرسال مراسلة', 'Envoyer un courrier', 'Send a letter']);
    expect(matrix.encryptedRoomText('fr')).toContain('Ce salon est chiffré');
  });
});
