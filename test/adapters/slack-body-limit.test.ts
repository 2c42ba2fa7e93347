/**
 * Slack's path takes bodies of Slack's size only: a huge POST, signed or not, is answered 413 and
 * its connection closed before the sender could send it all, whether its Content-Length says so
 * or it comes chunked; on the gateway's HTTP server and on a port of Slack's own. Requests of
 * Slack's size are handled as before.
 */
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { signedRequest, startFakeSlack, type FakeSlack } from '../helpers/fake-slack.js';
import { startTestGateway, type PartialConfig, type TestGateway } from '../helpers/gateway.js';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const TOKEN = 'xoxb-test-token';
const FIFTY_MIB = 50 * 1024 * 1024;

let running: { test: TestGateway; slack: FakeSlack } | undefined;
afterEach(async () => {
  await running?.test.stop();
  await running?.slack.stop();
  running = undefined;
});

async function start(slackConfig: PartialConfig = {}): Promise<{ test: TestGateway; slack: FakeSlack; port: number }> {
  const slack = await startFakeSlack({ botToken: TOKEN });
  const test = await startTestGateway({
    config: { adapters: { slack: slackConfig } },
    env: { WASL_SLACK_BOT_TOKEN: TOKEN, WASL_SLACK_API_URL: slack.apiUrl, WASL_SLACK_SIGNING_SECRET: SECRET },
  });
  running = { test, slack };
  const port = test.gateway.adapters.get('slack')?.listeningPort ?? Number(new URL(test.httpUrl).port);
  return { test, slack, port };
}

/**
 * POSTs `totalBytes` over a raw socket, 64 KiB at a time and only as fast as the server takes
 * them (never the whole body in memory), until all is sent or the server closes the connection.
 */
async function postInPieces({ port, totalBytes, chunked }: { port: number; totalBytes: number; chunked: boolean }): Promise<{ status: number; sentBytes: number }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  let answer = '';
  socket.on('data', (data: Buffer) => (answer += data.toString('latin1')));
  // The server closing while we still write makes EPIPE or ECONNRESET here: that is the point.
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const drained = () => new Promise<void>((resolve) => socket.once('drain', () => resolve()));
  const length = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${totalBytes}`;
  socket.write(`POST /slack/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n${length}\r\n\r\n`);
  const piece = Buffer.alloc(64 * 1024, 'a');
  const framed = chunked ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece;
  let sentBytes = 0;
  while (sentBytes < totalBytes && !socket.destroyed) {
    const more = socket.write(framed);
    sentBytes += piece.length;
    if (!more) await Promise.race([drained(), closed]);
  }
  if (!socket.destroyed) socket.end(chunked ? '0\r\n\r\n' : '');
  await closed;
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1]), sentBytes };
}

describe('a body larger than Slack sends', () => {
  it('declared by its Content-Length is answered 413, and the connection closes before the sender sent it all', async () => {
    const { port } = await start();
    const { status, sentBytes } = await postInPieces({ port, totalBytes: FIFTY_MIB, chunked: false });
    expect(status).toBe(413);
    expect(sentBytes).toBeLessThan(FIFTY_MIB);
  });

  it('sent chunked, without a length, is answered 413 once it passes the limit, and the connection closes before the sender sent it all', async () => {
    const { port } = await start();
    const { status, sentBytes } = await postInPieces({ port, totalBytes: FIFTY_MIB, chunked: true });
    expect(status).toBe(413);
    expect(sentBytes).toBeLessThan(FIFTY_MIB);
  });

  it('is refused the same way on a port of Slack’s own', async () => {
    const { port, test } = await start({ port: 0, host: '127.0.0.1' });
    expect(port).not.toBe(Number(new URL(test.httpUrl).port));
    const { status, sentBytes } = await postInPieces({ port, totalBytes: FIFTY_MIB, chunked: true });
    expect(status).toBe(413);
    expect(sentBytes).toBeLessThan(FIFTY_MIB);
  });
});

describe('a request of Slack’s size', () => {
  it('signed, is handled: the slash command gets its answer', async () => {
    const { test } = await start();
    const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/slack/command-send.json'), 'utf8')) as Record<string, unknown>;
    const response = await signedRequest({ url: `${test.httpUrl}/slack/events`, secret: SECRET, kind: 'command', payload: { ...fixture, text: 'help' } });
    expect(response.status).toBe(200);
    expect(String(response.json?.text)).toContain('/courrier');
  });

  it('unsigned, is refused with 401 after its signature is checked', async () => {
    const { test } = await start();
    const response = await fetch(`${test.httpUrl}/slack/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'event_callback' }) });
    expect(response.status).toBe(401);
  });
});
