/**
 * A department's mail server that refuses, times out or answers 4xx for a while: deliveries wait
 * and retry, and after the configured limit they are failed and shown to the mail office, who can
 * send them again. Nothing is dropped.
 */
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { eq } from 'drizzle-orm';
import { deliveries } from '../../src/db/schema.js';
import { insertDeliveries } from '../../src/letters/letters.repository.js';
import { newDelivery } from '../../src/letters/letters.usecases.js';
import { runWasl } from '../helpers/cli.js';
import { waitFor, gatewayPerTest, readRegister, rowsOf } from '../helpers/gateway.js';
import { sendLetter } from '../helpers/smtp-client.js';

const start = gatewayPerTest();

/** A department server that accepts connections and never says a word. */
async function startSilentServer() {
  const sockets: Socket[] = [];
  const silent = createServer((socket) => sockets.push(socket));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  return {
    port: (silent.address() as { port: number }).port,
    sockets,
    close() {
      for (const socket of sockets) socket.destroy();
      silent.close();
    },
  };
}

const letter = (id: string) => `From: p@citizen.test\r\nTo: rh@wasl.local\r\nSubject: ${id}\r\nMessage-ID: <${id}@citizen.test>\r\n\r\nx\r\n`;

describe('deliveries to a department server that stays down', () => {
  // A whole story (two attempts, three commands, the delivery): 2.5 s on an idle machine, up to 30 s measured at load 10-12 on two cores.
  it('are marked failed after the configured attempts, listed for the mail office, and sent once it retries them', { timeout: 60_000 }, async () => {
    const test = await start({ config: { outbox: { maxAttempts: 2, retryBaseMs: 50, retryMaxMs: 100 } } });
    test.relay!.mode = 'tempfail';
    const reply = await sendLetter({ port: test.smtpPort, from: 'p@citizen.test', to: ['rh@wasl.local'], message: letter('down') });
    const number = /\d{4}-A-\d{6}/.exec(reply.data!.text)![0];
    await waitFor(async () => (await rowsOf(test.gateway, deliveries)).every((row) => row.status === 'failed'), { what: 'deliveries failed' });
    expect((await rowsOf(test.gateway, deliveries)).map((row) => row.attempts)).toEqual([2, 2]);

    const configFile = join(test.dataDir, 'wasl.yaml');
    writeFileSync(configFile, stringify(test.config));
    // Two independent reads of the register, run together: each command is a process of its own.
    const [listed, shown] = await Promise.all([
      runWasl({ args: ['--config', configFile, 'deliveries', 'list', '--failed', '--json'] }),
      runWasl({ args: ['--config', configFile, 'letters', 'show', number, '--json'] }),
    ]);
    expect(JSON.parse(listed.stdout).map((row: { number: string; kind: string; status: string }) => `${row.number} ${row.kind} ${row.status}`).sort()).toEqual([
      `${number} forward failed`,
      `${number} receipt failed`,
    ]);
    expect(JSON.parse(shown.stdout).history.map((event: { type: string }) => event.type)).toEqual(expect.arrayContaining(['delivery_failed', 'receipt_undeliverable']));

    test.relay!.mode = 'accept';
    const retried = await runWasl({ args: ['--config', configFile, 'deliveries', 'retry'] });
    expect(retried.stdout).toBe('2 deliveries queued again\n');
    await test.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
    await test.relay!.waitForMessages(1, { to: 'p@citizen.test' });
    await waitFor(async () => (await rowsOf(test.gateway, deliveries)).every((row) => row.status === 'sent'), { what: 'deliveries sent' });
  });

  it('that never answers (a connection that hangs) are retried as temporary failures, not lost', async () => {
    const { port, close } = await startSilentServer();
    try {
      const test = await start({ config: { adapters: { email: { outbound: { url: `smtp://127.0.0.1:${port}`, timeoutMs: 200 } } }, outbox: { retryBaseMs: 60_000 } } });
      await sendLetter({ port: test.smtpPort, from: 'p@citizen.test', to: ['rh@wasl.local'], message: letter('hang') });
      await waitFor(async () => (await rowsOf(test.gateway, deliveries)).every((row) => row.attempts === 1 && row.status === 'pending'), { what: 'a timed-out first attempt' });
      const rows = await rowsOf(test.gateway, deliveries);
      expect(rows.every((row) => row.lastErrorCode === 'delivery.unavailable' && row.nextAttemptAt.getTime() > Date.now())).toBe(true);
    } finally {
      close();
    }
  });

  it('that holds every connection leaves the deliveries due meanwhile waiting for a slot, without the outbox looking for them again and again', async () => {
    const { port, sockets, close } = await startSilentServer();
    let clockReads = 0;
    const now = () => {
      clockReads += 1;
      return new Date();
    };
    try {
      const test = await start({
        now,
        config: {
          adapters: { email: { outbound: { url: `smtp://127.0.0.1:${port}`, timeoutMs: 30_000 } } },
          outbox: { concurrency: 1, pollIntervalMs: 60_000, retryBaseMs: 60_000 },
        },
      });
      // The forward takes the channel's one slot and hangs; the receipt waits for it.
      await sendLetter({ port: test.smtpPort, from: 'p@citizen.test', to: ['rh@wasl.local'], message: letter('held') });
      await waitFor(() => sockets.length > 0, { what: 'a connection to the silent server' });
      // Two more deliveries fall due, as retries do, while the slot is taken.
      const letterId = (await rowsOf(test.gateway, deliveries))[0]!.letterId;
      await test.gateway.database.write((tx) =>
        insertDeliveries(tx, ['one@dept.test', 'two@dept.test'].map((id) => newDelivery({ letterId, kind: 'forward', target: { channel: 'email', id }, departmentCode: 'RH', at: new Date() }))),
      );
      test.gateway.outbox.wake();
      await new Promise((resolve) => setTimeout(resolve, 50));

      const readsBefore = clockReads;
      await new Promise((resolve) => setTimeout(resolve, 500));
      // Each look at the register reads the clock; a worker that looked again after every empty claim read it hundreds of times here.
      expect(clockReads - readsBefore).toBeLessThan(10);
      const waiting = await readRegister(test.gateway, (db) => db.select().from(deliveries).where(eq(deliveries.status, 'pending')));
      expect(waiting.map((row) => `${row.targetId} ${row.attempts}`).sort()).toEqual(['one@dept.test 0', 'two@dept.test 0']);
    } finally {
      close();
    }
  });

  it('for a channel no longer running are kept and retried in a pool of their own, beside the running channels', async () => {
    // Slack deliveries left by an earlier configuration, when the gateway now runs email alone.
    const test = await start({ config: { outbox: { concurrency: 1, retryBaseMs: 60_000 } } });
    await sendLetter({ port: test.smtpPort, from: 'p@citizen.test', to: ['rh@wasl.local'], message: letter('before') });
    await test.relay!.waitForMessages(2);
    const letterId = (await rowsOf(test.gateway, deliveries))[0]!.letterId;
    const at = new Date();
    await test.gateway.database.write((tx) =>
      insertDeliveries(tx, ['C1', 'C2', 'C3'].map((channelId) => newDelivery({ letterId, kind: 'forward', target: { channel: 'slack', id: channelId }, departmentCode: 'RH', at }))),
    );
    test.gateway.outbox.wake();

    await sendLetter({ port: test.smtpPort, from: 'p@citizen.test', to: ['rh@wasl.local'], message: letter('after') });
    await test.relay!.waitForMessages(4);
    const slackRows = async () => await readRegister(test.gateway, (db) => db.select().from(deliveries).where(eq(deliveries.channel, 'slack')));
    await waitFor(async () => (await slackRows()).every((row) => row.attempts === 1), { what: 'the Slack deliveries tried once' });
    expect((await slackRows()).map((row) => `${row.status} ${row.lastErrorCode}`)).toEqual(Array(3).fill('pending channel.off'));
  });
});
