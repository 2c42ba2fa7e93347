/**
 * The Slack adapter's pure edges, on payloads in the shapes Slack sends (test/fixtures/slack):
 * what a command, a form or a thread reply becomes as a letter, and what a letter looks like
 * in a department's channel.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DepartmentView, LetterSummary, OutboundMessage } from '../../src/channels/port.js';
import { languageOfLocale, say } from '../../adapters/slack/messages.js';
import {
  decodeFormContext,
  formLetter,
  formValuesOf,
  isThreadReplyByPerson,
  messageFileRefs,
  parseCommand,
  plainTextOf,
  submissionId,
  threadAnswerLetter,
  type MessageEvent,
  type SubmittedView,
} from '../../adapters/slack/to-letter.js';
import {
  ACTIONS,
  afterAction,
  escapeMrkdwn,
  forwardMessage,
  letterMessage,
  letterNumberOfBlock,
  sendForm,
  statusText,
  textSections,
  withCloseOutcomes,
  type Block,
} from '../../adapters/slack/to-native.js';

const fixture = <T = Record<string, unknown>>(name: string): T => JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/slack', name), 'utf8')) as T;

const departments: DepartmentView[] = [
  { code: 'BO', names: { ar: 'مكتب الضبط', fr: "Bureau d'ordre", en: 'Mail office' }, addresses: [], channels: {} },
  { code: 'RH', names: { ar: 'الموارد البشرية', fr: 'Ressources humaines', en: 'Human resources' }, addresses: [], channels: { slack: ['C0RH'] } },
  { code: 'URB', names: { ar: 'التعمير', fr: 'Urbanisme', en: 'Urban planning' }, addresses: [], channels: { slack: ['C0URB'] } },
];

const letter: LetterSummary = {
  number: '2026-A-000001',
  direction: 'incoming',
  channel: 'email',
  sender: { channel: 'email', id: 'karim@citizen.test', displayName: 'Karim' },
  subject: 'Congé',
  departments: ['RH'],
  status: 'forwarded',
  registeredAt: new Date('2026-03-02T09:30:00Z'),
  receiptUrl: 'http://127.0.0.1:8080/r/abcdefghijklmnopqrstuv',
};

function forward(overrides: Partial<OutboundMessage> = {}): OutboundMessage {
  return {
    deliveryId: 7,
    kind: 'forward',
    to: { channel: 'slack', id: 'C0RH' },
    subject: '[2026-A-000001] Congé',
    text: 'De : Karim <karim@citizen.test>\nObjet : Congé\n\nBonjour, je demande un congé <du 3 au 5> & merci.',
    attachments: [],
    letter,
    answerToken: 'token',
    attempt: 1,
    ...overrides,
  };
}

describe('the slash command text', () => {
  it('reads send, status, list and help, in English, French or Arabic verbs', () => {
    expect(parseCommand('')).toEqual({ kind: 'help' });
    expect(parseCommand('aide')).toEqual({ kind: 'help' });
    expect(parseCommand('send')).toEqual({ kind: 'send-form' });
    expect(parseCommand('  envoyer  ')).toEqual({ kind: 'send-form' });
    expect(parseCommand('status 2026-a-000123')).toEqual({ kind: 'status', number: '2026-A-000123' });
    expect(parseCommand('حالة 2026-A-000123')).toEqual({ kind: 'status', number: '2026-A-000123' });
    expect(parseCommand('status')).toEqual({ kind: 'status', number: undefined });
    expect(parseCommand('liste')).toEqual({ kind: 'list' });
    expect(parseCommand('bonjour')).toEqual({ kind: 'unknown', word: 'bonjour' });
  });

  it('takes the department and subject from the first line of send and the body from the lines below', () => {
    expect(parseCommand('send RH Demande de congé\nBonjour,\n\ndu 3 au 5 mars.')).toEqual({
      kind: 'send',
      department: 'RH',
      subject: 'Demande de congé',
      body: 'Bonjour,\n\ndu 3 au 5 mars.',
    });
    expect(parseCommand('send\nun texte sans service')).toEqual({ kind: 'send-usage' });
  });
});

describe('Slack message text', () => {
  it('becomes plain text: links keep their address, mentions and escapes are undone', () => {
    expect(plainTextOf('Voir <https://rh.example.org/faq|la FAQ> &amp; <@U0ALICE> dans <#C0RH|rh> &lt;urgent&gt; <!here>')).toBe(
      'Voir la FAQ (https://rh.example.org/faq) & @U0ALICE dans #rh <urgent> @here',
    );
    expect(plainTextOf('<mailto:a@b.test|a@b.test>')).toBe('a@b.test (mailto:a@b.test)');
    expect(plainTextOf('<https://x.test>')).toBe('https://x.test');
  });

  it('is escaped where we write mrkdwn, so a sender cannot inject mentions or links', () => {
    expect(escapeMrkdwn('<!channel> & <https://evil.test|clic>')).toBe('&lt;!channel&gt; &amp; &lt;https://evil.test|clic&gt;');
  });
});

describe('a submitted send form', () => {
  const payload = fixture<{ view: SubmittedView; user: { id: string } }>('view-submission.json');

  it('gives the department, the trimmed subject, the body and the files', () => {
    const values = formValuesOf(payload.view);
    expect(values).toMatchObject({ department: 'RH', subject: "Demande d'attestation de travail", body: 'Bonjour,\nje demande une attestation de travail <urgent> & datée.\nAlice' });
    expect(values.files).toEqual([
      { id: 'F0FILE01', name: 'contrat.pdf', mimetype: 'application/pdf', size: 2048, url: 'https://files.slack.com/files-pri/T0WASL-F0FILE01/download/contrat.pdf' },
    ]);
  });

  it('becomes a letter from the person, answered in their DM, that the adapter receipts itself', () => {
    const values = formValuesOf(payload.view);
    const context = decodeFormContext(payload.view.private_metadata)!;
    expect(context).toEqual({ channel: 'C0GENERAL', responseUrl: 'https://hooks.slack.com/commands/T0WASL/1234/abcd', language: 'fr' });
    const user = { id: 'U0ALICE', displayName: 'Alice', language: 'fr' };
    const attachment = { filename: 'contrat.pdf', contentType: 'application/pdf', content: new Uint8Array([1, 2, 3]) };
    const letterIn = formLetter({ viewId: payload.view.id, values, user, context, place: 'user', attachments: [attachment], receivedAt: new Date('2026-03-02T10:00:00Z') });
    expect(letterIn).toMatchObject({
      channel: 'slack',
      from: { channel: 'slack', id: 'U0ALICE', displayName: 'Alice' },
      replyTo: { channel: 'slack', id: 'U0ALICE' },
      to: ['RH'],
      subject: "Demande d'attestation de travail",
      receiptInline: true,
      language: 'fr',
      attachments: [attachment],
    });
    expect(letterIn.externalId).toMatch(/^view:V0FORM01:[0-9a-f]{16}$/);
    const inChannel = formLetter({ viewId: payload.view.id, values, user, context, place: 'channel', attachments: [], receivedAt: new Date() });
    expect(inChannel.replyTo).toEqual({ channel: 'slack', id: 'C0GENERAL' });
  });

  it('has the same id when Slack sends it again, and another once the person changed it', () => {
    const values = formValuesOf(payload.view);
    expect(submissionId({ viewId: 'V0FORM01', values })).toBe(submissionId({ viewId: 'V0FORM01', values: { ...values } }));
    expect(submissionId({ viewId: 'V0FORM01', values: { ...values, subject: 'Autre objet' } })).not.toBe(submissionId({ viewId: 'V0FORM01', values }));
  });

  it('carries no usable context when its metadata is not ours', () => {
    expect(decodeFormContext('not json')).toBeUndefined();
    expect(decodeFormContext('{"c":1}')).toBeUndefined();
  });
});

describe('a message in the thread of a forwarded letter', () => {
  const reply = fixture<{ event: MessageEvent; event_id: string }>('event-thread-reply.json');

  it('is an answer by a person, with its files, bound to the thread by the token', () => {
    expect(isThreadReplyByPerson(reply.event)).toBe(true);
    expect(messageFileRefs(reply.event).map((file) => file.name)).toEqual(['attestation.pdf']);
    if (!isThreadReplyByPerson(reply.event)) return;
    const raw = new Uint8Array(Buffer.from('{"raw":true}'));
    const answer = threadAnswerLetter({ eventId: reply.event_id, event: reply.event, user: { id: 'U0BOB', displayName: 'Bob', language: undefined }, answerToken: 'tok', attachments: [], raw, receivedAt: new Date() });
    expect(answer).toMatchObject({
      channel: 'slack',
      externalId: 'Ev0THREAD01',
      from: { id: 'U0BOB', displayName: 'Bob' },
      replyTo: { channel: 'slack', id: 'C0RH', thread: '1760000001.000001' },
      inReplyTo: 'C0RH:1760000001.000001',
      answerToken: 'tok',
      text: 'Bonjour, votre attestation est jointe. Voir la FAQ (https://rh.example.org/faq) & @U0ALICE.',
      raw,
    });
  });

  it('is ignored when another app wrote it, when it is an edit, or when it starts the thread', () => {
    expect(isThreadReplyByPerson(fixture<{ event: MessageEvent }>('event-bot-message.json').event)).toBe(false);
    expect(isThreadReplyByPerson(fixture<{ event: MessageEvent }>('event-message-changed.json').event)).toBe(false);
    expect(isThreadReplyByPerson({ ...reply.event, thread_ts: reply.event.ts })).toBe(false);
    expect(isThreadReplyByPerson({ ...reply.event, thread_ts: undefined })).toBe(false);
  });
});

describe('a letter posted to a department channel', () => {
  it('shows its number, the text the core rendered (escaped), the receipt link and the three actions', () => {
    const message = forwardMessage({ message: forward({ attachments: [{ filename: 'a.pdf', contentType: 'application/pdf', content: new Uint8Array(1) }] }), departments, language: 'fr' });
    expect(message.text).toBe('[2026-A-000001] Congé');
    expect(message.blocks[0]).toMatchObject({ type: 'header', text: { text: 'Courrier 2026-A-000001' } });
    const body = JSON.stringify(message.blocks);
    expect(body).toContain('je demande un congé &lt;du 3 au 5&gt; &amp; merci.');
    expect(body).toContain('<http://127.0.0.1:8080/r/abcdefghijklmnopqrstuv|Accusé de réception>');
    expect(body).toContain('Pièces jointes : 1 (dans le fil)');
    const actions = message.blocks.at(-1)!;
    expect(letterNumberOfBlock(actions.block_id)).toBe('2026-A-000001');
    const elements = actions.elements as { action_id: string; value?: string; options?: { value: string; text: { text: string } }[] }[];
    expect(elements.map((element) => element.action_id)).toEqual([ACTIONS.acknowledge, ACTIONS.transfer, ACTIONS.close]);
    expect(elements[0]!.value).toBe('2026-A-000001');
    // A letter is transferred to another department, never to one that already has it.
    expect(elements[1]!.options!.map((option) => option.value)).toEqual(['BO', 'URB']);
    // A letter is closed with how it ended.
    expect(elements[2]!.options!.map((option) => [option.value, option.text.text])).toEqual([
      ['answered', 'répondu'],
      ['no_answer_needed', 'sans réponse nécessaire'],
      ['sent_elsewhere', 'transmis ailleurs'],
      ['withdrawn', "retiré par l'expéditeur"],
    ]);
  });

  it('offers the outcomes in place of the Close button of a forward posted before closes took one', () => {
    const { blocks } = forwardMessage({ message: forward(), departments, language: 'en' });
    const withButton = blocks.map((block) =>
      letterNumberOfBlock(block.block_id) === undefined
        ? block
        : { ...block, elements: (block.elements as { action_id: string }[]).map((element) => (element.action_id === ACTIONS.close ? { type: 'button', action_id: ACTIONS.close, text: { type: 'plain_text', text: 'Close' } } : element)) },
    );
    const redrawn = withCloseOutcomes({ blocks: withButton, language: 'en' });
    expect(redrawn).toEqual(blocks);
  });

  it('after Acknowledge shows who did it and keeps only Transfer and Close', () => {
    const { blocks } = forwardMessage({ message: forward(), departments, language: 'en' });
    const at = new Date('2026-03-02T10:00:00Z');
    const updated = afterAction({ blocks, action: 'acknowledged', actorId: 'U0BOB', at, toDepartment: undefined, language: 'en' });
    const history = updated.find((block) => block.block_id === 'wasl.history')!;
    expect(JSON.stringify(history)).toContain('Acknowledged by <@U0BOB> on <!date^1772445600^{date_short} {time}|2026-03-02T10:00:00.000Z>');
    const actions = updated.at(-1)!;
    expect((actions.elements as { action_id: string }[]).map((element) => element.action_id)).toEqual([ACTIONS.transfer, ACTIONS.close]);

    const closed = afterAction({ blocks: updated, action: 'closed', actorId: 'U0CAROL', at, toDepartment: undefined, outcome: 'no answer needed', language: 'en' });
    expect(closed.some((block) => block.type === 'actions')).toBe(false);
    const lines = (closed.find((block) => block.block_id === 'wasl.history')!.elements as { text: string }[]).map((element) => element.text);
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain('Closed (no answer needed) by <@U0CAROL>');
  });

  it('after a transfer names the new department and offers no more actions', () => {
    const { blocks } = forwardMessage({ message: forward(), departments, language: 'fr' });
    const updated = afterAction({ blocks, action: 'transferred', actorId: 'U0BOB', at: new Date(), toDepartment: 'URB — Urbanisme', language: 'fr' });
    expect(updated.some((block) => block.type === 'actions')).toBe(false);
    expect(JSON.stringify(updated)).toContain('Réorienté vers URB — Urbanisme par <@U0BOB>');
  });

  it('splits a long text into sections Slack accepts and says where the rest is when it is too long', () => {
    const long = Array.from({ length: 4000 }, (_, index) => `ligne ${index} ${'x'.repeat(40)}`).join('\n');
    const sections = textSections({ text: long, overflowNote: 'http://receipt' });
    expect(sections.length).toBe(41);
    for (const section of sections) expect(((section.text as { text: string }).text).length).toBeLessThanOrEqual(3000);
    expect((sections.at(-1)!.text as { text: string }).text).toContain('http://receipt');
    const oneLongLine = textSections({ text: 'y'.repeat(7000), overflowNote: '' });
    expect(oneLongLine.map((section) => (section.text as { text: string }).text.length)).toEqual([3000, 3000, 1000]);
  });
});

describe('receipts and answers posted to a person or a thread', () => {
  it('show the subject in bold and the rendered text', () => {
    const message = letterMessage({ message: forward({ kind: 'answer', subject: '[2026-D-000001] Réponse', text: 'Votre congé est accordé.' }) });
    expect(message.text).toBe('[2026-D-000001] Réponse');
    expect(message.blocks.map((block: Block) => (block.text as { text: string }).text)).toEqual(['*[2026-D-000001] Réponse*', 'Votre congé est accordé.']);
  });
});

describe('the send form', () => {
  it('lists every department, preselects the channel’s own, and carries where to confirm', () => {
    const view = sendForm({ departments, language: 'ar', context: { channel: 'C0RH', responseUrl: 'https://hooks.slack.com/x', language: 'ar' }, initialDepartment: 'RH' });
    const select = (view.blocks as Block[])[0]!.element as { options: { value: string; text: { text: string } }[]; initial_option: { value: string } };
    expect(select.options.map((option) => option.value)).toEqual(['BO', 'RH', 'URB']);
    expect(select.options[1]!.text.text).toBe('RH — الموارد البشرية');
    expect(select.initial_option.value).toBe('RH');
    expect(decodeFormContext(view.private_metadata as string)).toEqual({ channel: 'C0RH', responseUrl: 'https://hooks.slack.com/x', language: 'ar' });
    expect((view.title as { text: string }).text).toBe('إرسال مراسلة');
  });
});

describe('status answers', () => {
  it('show the subject only to those entitled to it', () => {
    expect(statusText({ letter, language: 'en', showSubject: true })).toContain('> Congé');
    const hidden = statusText({ letter, language: 'en', showSubject: false });
    expect(hidden).not.toContain('Congé');
    expect(hidden).toContain('*2026-A-000001* — forwarded to the department');
  });
});

describe('the language of replies', () => {
  it('follows the Slack locale when wasl speaks it, else the default', () => {
    expect(languageOfLocale({ locale: 'ar-MA', fallback: 'fr' })).toBe('ar');
    expect(languageOfLocale({ locale: 'es-ES', fallback: 'fr' })).toBe('fr');
    expect(languageOfLocale({ locale: undefined, fallback: 'en' })).toBe('en');
    expect(say({ language: 'fr', key: 'unknownNumber', values: { number: 'X' } })).toBe("Aucun courrier n'a le numéro « X ».");
  });
});
