/**
 * A chat letter's sender is the account the platform logged in (the Slack workspace, the Matrix
 * homeserver): the register, the receipt and the forward say so, not "unverified".
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FAKE_TEAM, signedRequest, startFakeSlack, type FakeSlack } from '../helpers/fake-slack.js';
import { SERVER_NAME, startMatrixWorld, type MatrixWorld } from '../helpers/fake-matrix.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

interface Receipt {
  letter: { authentication: unknown };
  statement: { sender: { authentication: unknown } };
}

async function receiptOf(test: TestGateway, number: string): Promise<Receipt> {
  return (await (await fetch(`${(await test.gateway.port.findLetter(number))!.receiptUrl}.json`)).json()) as Receipt;
}

let stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.reverse()) await stop();
  stops = [];
});

describe('a letter sent from Matrix', () => {
  it('is recorded, signed and forwarded as from an account its homeserver authenticates', async () => {
    const world: MatrixWorld = await startMatrixWorld();
    stops.push(() => world.stop());
    world.fake.sendAs({ roomId: world.citizenRoom, sender: world.citizen, content: { msgtype: 'm.text', body: '!courrier send RH Demande de congé\nBonjour.' } });
    const [notice] = await world.waitForNotices(world.citizenRoom, 1);
    const number = /\d{4}-A-\d{6}/.exec(JSON.stringify(notice!.content))![0];

    const platform = { verdict: 'platform', authority: SERVER_NAME };
    const receipt = await receiptOf(world.gateway, number);
    expect(receipt.letter.authentication).toEqual(platform);
    expect(receipt.statement.sender.authentication).toEqual(platform);
    const [forward] = await world.gateway.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
    expect(forward!.parsed.text).toContain(`De :             Amina <${world.citizen}> (matrix, compte authentifié par ${SERVER_NAME})`);
  });
});

describe('a letter sent from Slack', () => {
  it('is recorded and signed as from an account of the workspace the app is installed in', async () => {
    const secret = '8f742231b10e8888abcd99yyyzzz85a5';
    const slack: FakeSlack = await startFakeSlack({ botToken: 'xoxb-test-token' });
    stops.push(() => slack.stop());
    slack.addUser({ id: 'U0ALICE', name: 'alice', realName: 'Alice Benali', locale: 'en-US' });
    const test = await startTestGateway({ env: { WASL_SLACK_BOT_TOKEN: 'xoxb-test-token', WASL_SLACK_API_URL: slack.apiUrl, WASL_SLACK_SIGNING_SECRET: secret } });
    stops.push(() => test.stop());

    const command = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/slack', 'command-send.json'), 'utf8')) as Record<string, unknown>;
    const accepted = await signedRequest({
      url: `${test.httpUrl}/slack/events`,
      secret,
      kind: 'command',
      payload: { ...command, text: 'send rh Attestation\nBonjour.', user_id: 'U0ALICE', user_name: 'alice', response_url: slack.responseUrl(), trigger_id: 'trigger-1' },
    });
    const number = /\d{4}-A-\d{6}/.exec(String(accepted.json?.text))![0];

    const platform = { verdict: 'platform', authority: FAKE_TEAM };
    const receipt = await receiptOf(test, number);
    expect(receipt.letter.authentication).toEqual(platform);
    expect(receipt.statement.sender.authentication).toEqual(platform);
  });
});
