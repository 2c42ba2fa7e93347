/**
 * How the Slack channel is switched on and where it listens: off without settings, refused when
 * half set, on its own port when asked; and what the send form does with a file it cannot read.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { adapterDefinitions } from '../../src/channels/registry.js';
import { ConfigError, parseConfig } from '../../src/config/config.load.js';
import { letters } from '../../src/db/schema.js';
import { signedRequest, startFakeSlack, type FakeSlack } from '../helpers/fake-slack.js';
import { startTestGateway, type TestGateway, rowsOf } from '../helpers/gateway.js';

const SECRET = 'signing-secret-for-tests';
const TOKEN = 'xoxb-test-token';

let gateway: TestGateway | undefined;
let slack: FakeSlack | undefined;
afterEach(async () => {
  await gateway?.stop();
  await slack?.stop();
  gateway = undefined;
  slack = undefined;
});

function problemsOf(env: Record<string, string>): string[] {
  try {
    parseConfig({ raw: {}, env, adapters: adapterDefinitions });
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
}

describe('the Slack settings', () => {
  it('leave the channel off, with the reason said at start, when there are none', async () => {
    gateway = await startTestGateway();
    expect(gateway.gateway.adapters.has('slack')).toBe(false);
    expect(gateway.gateway.channelsOff.get('slack')).toBe('no bot token (set WASL_SLACK_BOT_TOKEN)');
    const response = await fetch(`${gateway.httpUrl}/slack/events`, { method: 'POST', body: '{}' });
    expect(response.status).toBe(405);
  });

  it('are refused before anything starts when the bot token comes without a way to verify or receive requests', () => {
    expect(problemsOf({ WASL_SLACK_BOT_TOKEN: TOKEN })).toEqual(['adapters.slack.signingSecret: Slack requests cannot be verified: set WASL_SLACK_SIGNING_SECRET']);
    expect(problemsOf({ WASL_SLACK_BOT_TOKEN: TOKEN, WASL_SLACK_SOCKET_MODE: 'true' })).toEqual(['adapters.slack.appToken: Socket Mode needs the app token: set WASL_SLACK_APP_TOKEN']);
    expect(problemsOf({ WASL_SLACK_BOT_TOKEN: TOKEN, WASL_SLACK_SIGNING_SECRET: SECRET, WASL_SLACK_API_URL: 'not a url' })).toHaveLength(1);
  });

  it('can give the receiver a port of its own, leaving the gateway’s HTTP server without it', async () => {
    slack = await startFakeSlack({ botToken: TOKEN });
    gateway = await startTestGateway({
      config: { adapters: { slack: { port: 0, host: '127.0.0.1', command: '/mail' } } },
      env: { WASL_SLACK_SIGNING_SECRET: SECRET, WASL_SLACK_BOT_TOKEN: TOKEN, WASL_SLACK_API_URL: slack.apiUrl },
    });
    const own = gateway.gateway.adapters.get('slack')!.listeningPort!;
    expect(own).toBeGreaterThan(0);
    const payload = { command: '/mail', text: 'help', user_id: 'U0ALICE', user_name: 'alice', channel_id: 'C0GENERAL', team_id: 'T0WASL', trigger_id: '1.2.3', response_url: slack.responseUrl() };
    const help = await signedRequest({ url: `http://127.0.0.1:${own}/slack/events`, secret: SECRET, kind: 'command', payload });
    expect(help.json?.text).toContain('*/mail send*');
    const onGateway = await signedRequest({ url: `${gateway.httpUrl}/slack/events`, secret: SECRET, kind: 'command', payload });
    expect(onGateway.status).toBe(405);
  });
});

describe('Socket Mode', () => {
  it('takes commands over Slack’s WebSocket, without any public URL, and answers in the acknowledgement', async () => {
    slack = await startFakeSlack({ botToken: TOKEN, appToken: 'xapp-test-token' });
    gateway = await startTestGateway({
      env: { WASL_SLACK_BOT_TOKEN: TOKEN, WASL_SLACK_APP_TOKEN: 'xapp-test-token', WASL_SLACK_SOCKET_MODE: 'true', WASL_SLACK_API_URL: slack.apiUrl },
    });
    expect(slack.callsTo('apps.connections.open')).toHaveLength(1);
    const ack = await slack.sendEnvelope({
      type: 'slash_commands',
      payload: { command: '/courrier', text: 'send RH Attestation\nBonjour', user_id: 'U0ALICE', user_name: 'alice', channel_id: 'C0GENERAL', team_id: 'T0WASL', trigger_id: '9.8.7', response_url: slack.responseUrl() },
    });
    expect(ack.response_type).toBe('ephemeral');
    const number = /\*(\d{4}-A-\d{6})\*/.exec(String(ack.text))?.[1];
    expect((await gateway.gateway.port.findLetter(number!))).toMatchObject({ channel: 'slack', subject: 'Attestation', departments: ['RH'] });
    const onGateway = await fetch(`${gateway.httpUrl}/slack/events`, { method: 'POST', body: '{}' });
    expect(onGateway.status).toBe(405);
  });
});

describe('the send form', () => {
  it('stays open with an error on the files, and stores nothing, when Slack will not hand over a file', async () => {
    slack = await startFakeSlack({ botToken: TOKEN });
    gateway = await startTestGateway({ env: { WASL_SLACK_SIGNING_SECRET: SECRET, WASL_SLACK_BOT_TOKEN: TOKEN, WASL_SLACK_API_URL: slack.apiUrl } });
    // A file of another workspace: Slack answers its download with a sign-in page.
    const foreign = { id: 'F9FOREIGN', name: 'secret.pdf', mimetype: 'application/pdf', size: 10, url_private_download: `http://127.0.0.1:${slack.port}/files-pri/F9FOREIGN/download/secret.pdf` };
    const payload = {
      type: 'view_submission',
      team: { id: 'T0WASL' },
      user: { id: 'U0ALICE', name: 'alice' },
      view: {
        id: 'V0FORM9',
        callback_id: 'wasl.send',
        private_metadata: JSON.stringify({ c: 'C0GENERAL', l: 'fr' }),
        state: {
          values: {
            department: { value: { type: 'static_select', selected_option: { value: 'RH' } } },
            subject: { value: { type: 'plain_text_input', value: 'Objet' } },
            body: { value: { type: 'plain_text_input', value: 'Texte' } },
            files: { value: { type: 'file_input', files: [foreign] } },
          },
        },
      },
    };
    const response = await signedRequest({ url: `${gateway.httpUrl}/slack/events`, secret: SECRET, kind: 'interaction', payload });
    expect(response.json).toEqual({ response_action: 'errors', errors: { files: "Slack ne nous a pas laissé lire une pièce jointe ; rien n'a été gardé. Joignez le fichier de nouveau depuis votre ordinateur." } });
    expect(await rowsOf(gateway.gateway, letters)).toEqual([]);
  });
});
