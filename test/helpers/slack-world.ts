/**
 * A gateway whose Slack channel talks to the local Slack stand-in over signed HTTP, and the
 * requests a person's Slack sends: slash commands, thread replies.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FlushToDisk } from '../../src/db/group-commit.js';
import { signedRequest, startFakeSlack, type FakeSlack, type SignedResponse, type SlackCall } from './fake-slack.js';
import { deepMerge, startTestGateway, TEST_DEPARTMENTS, waitFor, type PartialConfig, type TestGateway } from './gateway.js';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const TOKEN = 'xoxb-test-token';
const APP_TOKEN = 'xapp-test-token';
export const fixture = (name: string) => JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/slack', name), 'utf8')) as Record<string, unknown>;

/** RH and URB also have Slack channels; BO keeps email only. */
export const SLACK_DEPARTMENTS = TEST_DEPARTMENTS.map((department) =>
  department.code === 'RH' ? { ...department, channels: { ...department.channels, slack: ['C0RH'] } } : department.code === 'URB' ? { ...department, channels: { ...department.channels, slack: ['C0URB'] } } : department,
);

export interface SlackWorld {
  test: TestGateway;
  slack: FakeSlack;
  url: string;
  post(kind: 'event' | 'command' | 'interaction', payload: Record<string, unknown>, options?: { timestamp?: number; signature?: string; headers?: Record<string, string> }): Promise<SignedResponse>;
}

export async function startSlackWorld({
  slackConfig = {},
  outbox = {},
  flushToDisk,
  socketMode = false,
  now,
  config = {},
}: {
  slackConfig?: PartialConfig;
  outbox?: PartialConfig;
  flushToDisk?: FlushToDisk;
  socketMode?: boolean;
  now?: () => Date;
  /** More of the gateway's configuration (e.g. its register), merged over this world's. */
  config?: PartialConfig;
} = {}): Promise<SlackWorld> {
  const slack = await startFakeSlack({ botToken: TOKEN, appToken: APP_TOKEN });
  slack.addUser({ id: 'U0ALICE', name: 'alice', realName: 'Alice Benali', locale: 'en-US' });
  slack.addUser({ id: 'U0BOB', name: 'bob', realName: 'Bob Haddad', locale: 'fr-FR' });
  const test = await startTestGateway({
    config: deepMerge({ departments: SLACK_DEPARTMENTS, outbox, adapters: { slack: slackConfig } }, config),
    env: {
      WASL_SLACK_BOT_TOKEN: TOKEN,
      WASL_SLACK_API_URL: slack.apiUrl,
      ...(socketMode ? { WASL_SLACK_APP_TOKEN: APP_TOKEN, WASL_SLACK_SOCKET_MODE: 'true' } : { WASL_SLACK_SIGNING_SECRET: SECRET }),
    },
    flushToDisk,
    now,
  });
  const url = `${test.httpUrl}/slack/events`;
  return {
    test,
    slack,
    url,
    post: (kind, payload, options = {}) => signedRequest({ url, secret: SECRET, kind, payload, ...options }),
  };
}

export function command({ slack, text, user = 'U0ALICE', channel = 'C0GENERAL' }: { slack: FakeSlack; text: string; user?: string; channel?: string }) {
  return {
    ...fixture('command-send.json'),
    text,
    user_id: user,
    user_name: user === 'U0ALICE' ? 'alice' : 'bob',
    channel_id: channel,
    response_url: slack.responseUrl(),
    trigger_id: `${Date.now()}.${Math.random().toString().slice(2)}`,
  };
}

export const postsTo = (slack: FakeSlack, channel: string) => slack.callsTo('chat.postMessage').filter((call) => call.args.channel === channel);

/** Whether a post is the forward of that letter, known by the metadata wasl attaches to what it posts. */
export function isForwardOf(number: string): (call: SlackCall) => boolean {
  return (call) => {
    const payload = (call.args.metadata as { event_payload?: { kind?: string; letter?: string } } | undefined)?.event_payload;
    return payload?.kind === 'forward' && payload.letter === number;
  };
}

/** The forward of a letter posted to a channel, once recorded as sent. */
export async function forwardIn(setup: Pick<SlackWorld, 'slack' | 'test'>, channel: string, number: string): Promise<SlackCall> {
  const isForward = isForwardOf(number);
  await waitFor(() => postsTo(setup.slack, channel).some(isForward), { what: `${number} posted to ${channel}` });
  // Recorded as sent, with the thread it opened: only then are answers in that thread known as answers.
  await setup.test.gateway.outbox.idle();
  return postsTo(setup.slack, channel).find(isForward)!;
}

/** A person's reply in a thread, as Slack's Events API delivers it. */
export function threadReply({ channel, threadTs, text, eventId, user = 'U0BOB', files }: { channel: string; threadTs: string; text: string; eventId: string; user?: string; files?: unknown[] }) {
  const payload = fixture('event-thread-reply.json') as { event: Record<string, unknown> };
  const event: Record<string, unknown> = { ...payload.event, user, channel, text, thread_ts: threadTs, ts: `${Math.floor(Number(threadTs)) + 500}.000100`, event_ts: `${Math.floor(Number(threadTs)) + 500}.000100` };
  if (files) event.files = files;
  else {
    delete event.files;
    delete event.subtype;
  }
  return { ...payload, event_id: eventId, event };
}
