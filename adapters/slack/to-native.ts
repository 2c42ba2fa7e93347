/**
 * Pure mapping from the core's messages and answers to what Slack shows: Block Kit messages,
 * the send form, ephemeral replies. No I/O here: tested without Slack.
 * Limits quoted are Slack's (https://docs.slack.dev/reference/block-kit/blocks).
 */
import type { Language } from '../../src/config/config.schema.js';
import type { Acceptance, DepartmentView, LetterSummary, OutboundMessage } from '../../src/channels/port.js';
import { CLOSE_OUTCOMES } from '../../src/lifecycle/letter-events.js';
import { outcomeName } from '../../src/lifecycle/lifecycle-text.js';
import { ACTION_PHRASE, say, statusName, type PressAction } from './messages.js';
import { FORM, type FormContext, encodeFormContext } from './to-letter.js';

/** Loose Block Kit shapes: Slack validates them; we keep to the fields we write. */
export type Block = Record<string, unknown> & { type: string; block_id?: string };

export interface SlackMessage {
  /** Shown in notifications and by clients that cannot draw blocks. */
  text: string;
  blocks: Block[];
}

/** The actions a forwarded letter offers, by action id. */
export const ACTIONS = {
  acknowledge: 'wasl.acknowledge',
  transfer: 'wasl.transfer',
  close: 'wasl.close',
} as const;

export const ACTION_OF: Record<string, PressAction> = {
  [ACTIONS.acknowledge]: 'acknowledged',
  [ACTIONS.transfer]: 'transferred',
  [ACTIONS.close]: 'closed',
};

const ACTIONS_BLOCK_PREFIX = 'wasl.letter:';
const HISTORY_BLOCK = 'wasl.history';
/** A section's text holds at most 3000 characters. */
const SECTION_LIMIT = 3000;
/** A message holds at most 50 blocks; keep room for the header, context and actions. */
const MAX_TEXT_SECTIONS = 40;
/** A context block holds at most 10 elements. */
const CONTEXT_LIMIT = 10;
/** A static select offers at most 100 options. */
const OPTIONS_LIMIT = 100;

/** Slack reads `&`, `<` and `>` in mrkdwn as markup; everything we did not write must be escaped. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function plain(text: string, limit = 150) {
  return { type: 'plain_text', text: text.length > limit ? `${text.slice(0, limit - 1)}…` : text, emoji: false };
}

/** Cuts long text at line ends into section-sized pieces; beyond the block budget it says where the rest is. */
export function textSections({ text, overflowNote }: { text: string; overflowNote: string }): Block[] {
  const pieces: string[] = [];
  let current = '';
  for (const line of escapeMrkdwn(text).split('\n')) {
    let rest = line;
    while (rest.length > SECTION_LIMIT) {
      if (current) pieces.push(current);
      current = '';
      pieces.push(rest.slice(0, SECTION_LIMIT));
      rest = rest.slice(SECTION_LIMIT);
    }
    const candidate = current ? `${current}\n${rest}` : rest;
    if (candidate.length > SECTION_LIMIT) {
      pieces.push(current);
      current = rest;
    } else {
      current = candidate;
    }
  }
  if (current.trim()) pieces.push(current);
  const kept = pieces.filter((piece) => piece.trim() !== '');
  const shown = kept.slice(0, MAX_TEXT_SECTIONS).map((piece) => ({ type: 'section', text: { type: 'mrkdwn', text: piece } }) as Block);
  if (kept.length > MAX_TEXT_SECTIONS) shown.push({ type: 'section', text: { type: 'mrkdwn', text: `…\n${overflowNote}` } });
  return shown;
}

function departmentName({ department, language }: { department: DepartmentView; language: Language }): string {
  return department.names[language] ?? department.code;
}

function transferOptions({ departments, current, language }: { departments: readonly DepartmentView[]; current: readonly string[]; language: Language }) {
  return departments
    .filter((department) => !current.includes(department.code))
    .slice(0, OPTIONS_LIMIT)
    .map((department) => ({ text: plain(`${department.code} — ${departmentName({ department, language })}`, 75), value: department.code }));
}

function actionsBlock({ letter, departments, language }: { letter: LetterSummary; departments: readonly DepartmentView[]; language: Language }): Block {
  const elements: Record<string, unknown>[] = [
    { type: 'button', action_id: ACTIONS.acknowledge, text: plain(say({ language, key: 'acknowledge' })), style: 'primary', value: letter.number },
  ];
  const options = transferOptions({ departments, current: letter.departments, language });
  if (options.length > 0) {
    elements.push({ type: 'static_select', action_id: ACTIONS.transfer, placeholder: plain(say({ language, key: 'transferTo' })), options });
  }
  elements.push(closeSelect(language));
  return { type: 'actions', block_id: `${ACTIONS_BLOCK_PREFIX}${letter.number}`, elements };
}

/** A letter is closed with how it ended (its outcome), chosen from a select. */
function closeSelect(language: Language): Record<string, unknown> {
  const options = CLOSE_OUTCOMES.map((outcome) => ({ text: plain(outcomeName({ language, outcome }), 75), value: outcome }));
  return { type: 'static_select', action_id: ACTIONS.close, placeholder: plain(say({ language, key: 'closeAs' })), options };
}

/**
 * A forward posted before closes took an outcome has a Close button: the button becomes the select
 * of outcomes, so the letter can be closed from the same message.
 */
export function withCloseOutcomes({ blocks, language }: { blocks: readonly Block[]; language: Language }): Block[] {
  return blocks.map((block) =>
    letterNumberOfBlock(block.block_id) === undefined
      ? block
      : { ...block, elements: (block.elements as Record<string, unknown>[]).map((element) => (element.action_id === ACTIONS.close ? closeSelect(language) : element)) },
  );
}

/** The letter number a button or select belongs to, from its actions block id. */
export function letterNumberOfBlock(blockId: string | undefined): string | undefined {
  return blockId?.startsWith(ACTIONS_BLOCK_PREFIX) ? blockId.slice(ACTIONS_BLOCK_PREFIX.length) : undefined;
}

/**
 * A letter for a department's channel: its number as the heading, the text the core rendered
 * (sender, subject, receipt link, body), and the buttons that record what the department does.
 */
export function forwardMessage({
  message,
  departments,
  language,
}: {
  message: OutboundMessage;
  departments: readonly DepartmentView[];
  language: Language;
}): SlackMessage {
  const { letter } = message;
  const context: string[] = [`<${letter.receiptUrl}|${escapeMrkdwn(say({ language, key: 'receiptLink' }))}>`];
  if (message.attachments.length > 0) context.push(escapeMrkdwn(say({ language, key: 'forwardFiles', values: { count: message.attachments.length } })));
  context.push(escapeMrkdwn(say({ language, key: 'forwardReplyHint' })));
  return {
    text: message.subject,
    blocks: [
      { type: 'header', text: plain(say({ language, key: 'forwardHeading', values: { number: letter.number } })) },
      ...textSections({ text: message.text, overflowNote: letter.receiptUrl }),
      { type: 'context', elements: context.map((text) => ({ type: 'mrkdwn', text })) },
      actionsBlock({ letter, departments, language }),
    ],
  };
}

/** Slack shows `<!date^…>` in each reader's own time zone, with the fallback for old clients. */
export function slackDate(at: Date): string {
  return `<!date^${Math.floor(at.getTime() / 1000)}^{date_short} {time}|${at.toISOString()}>`;
}

/**
 * The forwarded message once someone pressed a button: the press is added to its history line
 * and only the actions that still make sense remain (nothing after a transfer or a close).
 */
export function afterAction({
  blocks,
  action,
  actorId,
  at,
  toDepartment,
  outcome,
  language,
}: {
  blocks: readonly Block[];
  action: PressAction;
  actorId: string;
  at: Date;
  toDepartment: string | undefined;
  /** How a closed letter ended, in words. */
  outcome?: string | undefined;
  language: Language;
}): Block[] {
  const values = { actor: `<@${actorId}>`, date: slackDate(at), department: escapeMrkdwn(toDepartment ?? ''), outcome: outcome ?? '' };
  const line = say({ language, key: ACTION_PHRASE[action], values });
  const previous = blocks.find((block) => block.block_id === HISTORY_BLOCK);
  const history = [...((previous?.elements as Block[] | undefined) ?? []), { type: 'mrkdwn', text: line }].slice(-CONTEXT_LIMIT);
  const updated: Block[] = [];
  for (const block of blocks) {
    if (block.block_id === HISTORY_BLOCK) continue;
    if (letterNumberOfBlock(block.block_id) !== undefined) {
      if (action !== 'acknowledged') continue;
      const elements = (block.elements as Record<string, unknown>[]).filter((element) => element.action_id !== ACTIONS.acknowledge);
      updated.push({ type: 'context', block_id: HISTORY_BLOCK, elements: history }, { ...block, elements });
      continue;
    }
    updated.push(block);
  }
  if (action !== 'acknowledged') updated.push({ type: 'context', block_id: HISTORY_BLOCK, elements: history });
  return updated;
}

/** Receipts and answers: the subject in bold, then the text the core rendered. */
export function letterMessage({ message }: { message: OutboundMessage }): SlackMessage {
  return {
    text: message.subject,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*${escapeMrkdwn(message.subject).slice(0, SECTION_LIMIT - 2)}*` } },
      ...textSections({ text: message.text, overflowNote: message.letter.receiptUrl }),
    ],
  };
}

/** The send form: a department (from the configuration), subject, text and optional files. */
export function sendForm({
  departments,
  language,
  context,
  initialDepartment,
}: {
  departments: readonly DepartmentView[];
  language: Language;
  context: FormContext;
  initialDepartment: string | undefined;
}): Record<string, unknown> {
  const options = departments.slice(0, OPTIONS_LIMIT).map((department) => ({
    text: plain(`${department.code} — ${departmentName({ department, language })}`, 75),
    value: department.code,
  }));
  const initial = options.find((option) => option.value === initialDepartment);
  return {
    type: 'modal',
    callback_id: FORM.callbackId,
    private_metadata: encodeFormContext(context),
    title: plain(say({ language, key: 'modalTitle' }), 24),
    submit: plain(say({ language, key: 'modalSubmit' }), 24),
    close: plain(say({ language, key: 'modalCancel' }), 24),
    blocks: [
      {
        type: 'input',
        block_id: FORM.department,
        label: plain(say({ language, key: 'fieldDepartment' })),
        element: { type: 'static_select', action_id: FORM.value, placeholder: plain(say({ language, key: 'fieldDepartmentPlaceholder' })), options, ...(initial ? { initial_option: initial } : {}) },
      },
      { type: 'input', block_id: FORM.subject, label: plain(say({ language, key: 'fieldSubject' })), element: { type: 'plain_text_input', action_id: FORM.value, max_length: 250 } },
      { type: 'input', block_id: FORM.body, label: plain(say({ language, key: 'fieldBody' })), element: { type: 'plain_text_input', action_id: FORM.value, multiline: true, max_length: 3000 } },
      { type: 'input', block_id: FORM.files, optional: true, label: plain(say({ language, key: 'fieldFiles' })), element: { type: 'file_input', action_id: FORM.value, max_files: 10 } },
    ],
  };
}

/** What the sender reads once the letter is in the register. */
export function registeredText({ acceptance, language }: { acceptance: Acceptance; language: Language }): string {
  const key = acceptance.duplicate ? 'alreadyRegistered' : acceptance.answers ? 'answerRegistered' : 'registered';
  const sentence = say({ language, key, values: { number: acceptance.number, departments: acceptance.departments.join(', '), answers: acceptance.answers ?? '' } });
  return `${sentence}\n${say({ language, key: 'receiptLink' })}: <${acceptance.receiptUrl}>`;
}

/** The form turns into its own confirmation, so the sender sees the number where they pressed Send. */
export function registeredView({ acceptance, language }: { acceptance: Acceptance; language: Language }): Record<string, unknown> {
  return {
    type: 'modal',
    title: plain(say({ language, key: 'modalDone' }), 24),
    close: plain('OK', 24),
    blocks: [{ type: 'section', text: { type: 'mrkdwn', text: registeredText({ acceptance, language }) } }],
  };
}

export function departmentsList(departments: readonly DepartmentView[]): string {
  return departments.map((department) => department.code).join(', ');
}

/**
 * One letter's status. Its subject is shown only to people entitled to it (its sender, or a
 * channel of a department that handles it): anyone who knows a number should not learn more.
 */
export function statusText({ letter, language, showSubject }: { letter: LetterSummary; language: Language; showSubject: boolean }): string {
  const lines = [say({ language, key: 'statusLine', values: { number: letter.number, status: statusName({ language, status: letter.status }), date: slackDate(letter.registeredAt) } })];
  if (showSubject && letter.subject) lines.push(`> ${escapeMrkdwn(letter.subject)}`);
  lines.push(say({ language, key: 'statusDepartments', values: { departments: letter.departments.join(', ') } }));
  return lines.join('\n');
}

export function listText({ letters, department, language }: { letters: readonly LetterSummary[]; department: DepartmentView; language: Language }): string {
  const name = `${department.code} — ${departmentName({ department, language })}`;
  if (letters.length === 0) return say({ language, key: 'listEmpty', values: { department: name } });
  const lines = letters.map((letter) => {
    const status = statusName({ language, status: letter.status });
    const subject = letter.subject ? ` ${escapeMrkdwn(letter.subject)}` : '';
    return `• *${letter.number}*${subject} — ${status} — ${slackDate(letter.registeredAt)}`;
  });
  return [say({ language, key: 'listHeading', values: { department: name } }), ...lines].join('\n');
}

/** An answer Slack shows only to the person who typed the command. */
export function ephemeral(text: string): { response_type: 'ephemeral'; text: string } {
  return { response_type: 'ephemeral', text };
}
