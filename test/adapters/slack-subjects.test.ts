/**
 * A letter sent from Slack's form whose subject or sender's name holds line breaks: Slack's form
 * keeps its input to one line, but the submission is only JSON, and any client can send "\n".
 * Real gateway, real Bolt receiver and Web API client against the local stand-in for Slack, the
 * department's mailbox a real SMTP server.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deliveries } from '../../src/db/schema.js';
import { signedRequest, startFakeSlack, type FakeSlack } from '../helpers/fake-slack.js';
import { startTestGateway, type TestGateway, rowsOf } from '../helpers/gateway.js';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const TOKEN = 'xoxb-test-token';
const fixture = (name: string) => JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/slack', name), 'utf8')) as Record<string, unknown>;

let running: { test: TestGateway; slack: FakeSlack } | undefined;
afterEach(async () => {
  await running?.test.stop();
  await running?.slack.stop();
  running = undefined;
});

describe('a letter sent from the Slack form', () => {
  it('with a line break in its subject and in its sender’s name is forwarded at the first attempt, every header one line', async () => {
    const slack = await startFakeSlack({ botToken: TOKEN });
    slack.addUser({ id: 'U0ALICE', name: 'alice', realName: 'Alice\nBcc: w@other.example', locale: 'fr-FR' });
    const test = await startTestGateway({ env: { WASL_SLACK_BOT_TOKEN: TOKEN, WASL_SLACK_API_URL: slack.apiUrl, WASL_SLACK_SIGNING_SECRET: SECRET } });
    running = { test, slack };
    const post = (kind: 'command' | 'interaction', payload: Record<string, unknown>) => signedRequest({ url: `${test.httpUrl}/slack/events`, secret: SECRET, kind, payload });

    await post('command', { ...fixture('command-send.json'), response_url: slack.responseUrl() });
    const [opened] = await slack.waitForCalls('views.open');
    const form = fixture('view-submission.json') as { view: Record<string, unknown> };
    const subject = 'Attestation\nBcc: v@other.example\u2028urgente';
    const values = {
      department: { value: { type: 'static_select', selected_option: { value: 'RH' } } },
      subject: { value: { type: 'plain_text_input', value: subject } },
      body: { value: { type: 'plain_text_input', value: 'Bonjour,\nune attestation svp.' } },
      files: { value: { type: 'file_input', files: [] } },
    };
    const sent = await post('interaction', { ...form, view: { ...form.view, private_metadata: (opened!.args.view as Record<string, unknown>).private_metadata, state: { values } } });

    expect(sent.status).toBe(200);
    const number = /\d{4}-A-\d{6}/.exec(JSON.stringify(sent.json))![0];
    expect((await test.gateway.port.findLetter(number))!.subject).toBe(subject);
    const [forward] = await test.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
    expect(forward!.parsed.subject).toBe(`[${number}] Attestation Bcc: v@other.example urgente`);
    expect(forward!.parsed.from?.value[0]?.name).toBe(`Alice Bcc: w@other.example via ${test.config.mail.officeName.fr}`);
    expect(forward!.parsed.headers.has('bcc')).toBe(false);
    expect(forward!.parsed.text).toContain('Bonjour,\nune attestation svp.');
    await test.gateway.outbox.idle();
    expect((await rowsOf(test.gateway, deliveries)).map((row) => ({ status: row.status, attempts: row.attempts }))).toEqual([{ status: 'sent', attempts: 1 }]);
  });
});
