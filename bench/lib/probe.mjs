/**
 * Latency probe: one SMTP session on a raw socket, no pipelining, that sends the 4 KB letter
 * (`bench/letter-4k.eml`: multipart text+HTML, given a unique Message-ID each time) and
 * times the gap between writing the final `.` of DATA and reading the server's reply.
 * smtp-source cannot report this, hence our own client.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

export const PROBE_SENDER = 'probe@example.test';
const REPLY_TIMEOUT_MS = 60_000;

/** The letter as SMTP DATA bytes: CRLF lines, dot-stuffed (RFC 5321 4.5.2), without the final dot. */
function dataLines({ template, messageId }) {
  const text = template
    .replace(/\r\n/g, '\n')
    .replace(/^Message-ID:.*$/im, `Message-ID: <${messageId}>`)
    .replace(/\n+$/, '')
    .split('\n')
    .map((line) => (line.startsWith('.') ? `.${line}` : line))
    .join('\r\n');
  return Buffer.from(`${text}\r\n`, 'utf8');
}

/** Reads SMTP replies (multi-line `250-...` up to `250 ...`) one at a time. */
function replyReader(socket) {
  let buffer = '';
  let lines = [];
  const waiting = [];
  const ready = [];
  let failure = null;
  const deliver = (reply) => {
    const next = waiting.shift();
    if (next) next.resolve(reply);
    else ready.push(reply);
  };
  socket.setEncoding('latin1');
  socket.on('data', (text) => {
    buffer += text;
    let end;
    while ((end = buffer.indexOf('\r\n')) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      lines.push(line);
      if (line.length < 4 || line[3] !== '-') {
        deliver({ code: Number(line.slice(0, 3)), text: lines.join('\n'), at: performance.now() });
        lines = [];
      }
    }
  });
  const fail = (error) => {
    failure = error;
    for (const next of waiting.splice(0)) next.reject(error);
  };
  socket.on('error', fail);
  socket.on('close', () => fail(new Error('the server closed the connection')));
  return function nextReply() {
    if (ready.length > 0) return Promise.resolve(ready.shift());
    if (failure) return Promise.reject(failure);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no SMTP reply within ${REPLY_TIMEOUT_MS / 1000} s`)), REPLY_TIMEOUT_MS);
      waiting.push({
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
  };
}

export async function openProbe({ port, recipient, letterFile, tag }) {
  const template = readFileSync(letterFile, 'utf8');
  const socket = connect({ host: '127.0.0.1', port });
  socket.setNoDelay(true);
  const nextReply = replyReader(socket);
  const expect = async (code, command) => {
    const reply = await nextReply();
    if (reply.code !== code) throw new Error(`probe: ${command ?? 'greeting'} got "${reply.text}", expected ${code}`);
    return reply;
  };
  const command = (line, code) => {
    socket.write(`${line}\r\n`);
    return expect(code, line);
  };
  await expect(220);
  await command('EHLO probe.test', 250);

  let sent = 0;
  const latenciesMs = [];
  let busy = null;
  let probeFailure = null;

  async function sendOne() {
    sent += 1;
    await command(`MAIL FROM:<${PROBE_SENDER}>`, 250);
    await command(`RCPT TO:<${recipient}>`, 250);
    await command('DATA', 354);
    socket.write(dataLines({ template, messageId: `probe-${tag}-${sent}@example.test` }));
    const wroteDotAt = performance.now();
    socket.write('.\r\n');
    const reply = await expect(250, 'end of DATA');
    latenciesMs.push(reply.at - wroteDotAt);
  }

  return {
    get sent() {
      return sent;
    },
    /** Starts one letter unless one is still in flight (so the probe never queues up behind itself). */
    sendIfIdle() {
      if (busy || probeFailure) return;
      busy = sendOne()
        .catch((error) => {
          probeFailure = error;
        })
        .finally(() => {
          busy = null;
        });
    },
    /** Waits for the letter in flight, if any, and rethrows the failure of any letter sent so far. */
    async settle() {
      if (busy) await busy;
      if (probeFailure) throw probeFailure;
    },
    /** Sends `count` letters one after the other and returns their latencies. */
    async sendSequentially(count) {
      await this.settle();
      const from = latenciesMs.length;
      for (let i = 0; i < count; i += 1) await sendOne();
      return latenciesMs.slice(from);
    },
    /** Latencies of the letters sent so far (milliseconds). */
    takeLatencies() {
      return latenciesMs.splice(0);
    },
    close() {
      socket.end('QUIT\r\n');
      socket.destroy();
    },
  };
}
