/**
 * GET /metrics as Prometheus scrapes it: letters counted by channel and direction, the 250's
 * latency and the sender checks timed, commits counted by batch, the outbox's backlog and its age,
 * deliveries given up on; each gateway its own figures; and nothing told off loopback unless meant.
 */
import { describe, expect, it } from 'vitest';
import { dnsFromRecords, offlineAdapters } from '../fixtures/email/offline-dns.js';
import { clockFrom } from '../helpers/clock.js';
import { gatewayPerTest, startTestGateway, waitFor, type TestGateway } from '../helpers/gateway.js';
import { sendLetter } from '../helpers/smtp-client.js';

const start = gatewayPerTest();
const offline = () => offlineAdapters(dnsFromRecords({}));

/** The samples of one scrape, by series as Prometheus writes it (`name{label="value"}`). */
async function scrape(test: TestGateway): Promise<Map<string, number>> {
  const response = await fetch(`${test.httpUrl}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain; version=0.0.4');
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split('\n')) {
    const sample = /^(\S+) (\S+)$/.exec(line);
    if (sample && !line.startsWith('#')) samples.set(sample[1]!, Number(sample[2]));
  }
  return samples;
}

async function sendLetters(test: TestGateway, count: number): Promise<void> {
  for (let index = 1; index <= count; index++) {
    const reply = await sendLetter({ port: test.smtpPort, from: 'amina@citizen.test', to: ['rh@wasl.local'], message: `Subject: Demande ${index}\r\n\r\nBonjour\r\n` });
    expect(reply.data?.code).toBe(250);
  }
}

describe('GET /metrics', () => {
  it('counts the letters registered, times each one from DATA to 250 and its sender check, and counts commit batches and how long each held the register', async () => {
    const test = await start({ relay: false, adapters: offline() });
    const before = await scrape(test);
    expect(before.get('wasl_letters_registered_total{channel="email",direction="incoming"}')).toBeUndefined();
    expect(before.get('wasl_email_data_to_250_seconds_count')).toBe(0);

    await sendLetters(test, 3);
    await test.gateway.outbox.idle();
    const after = await scrape(test);
    expect(after.get('wasl_letters_registered_total{channel="email",direction="incoming"}')).toBe(3);
    expect(after.get('wasl_email_data_to_250_seconds_count')).toBe(3);
    expect(after.get('wasl_email_data_to_250_seconds_bucket{le="+Inf"}')).toBe(3);
    expect(after.get('wasl_email_sender_check_seconds_count')).toBe(3);
    // Three letters, then their forwards' and receipts' marks: however they were batched, every write was committed.
    expect(after.get('wasl_commit_batch_size_count')).toBeGreaterThan(before.get('wasl_commit_batch_size_count')!);
    expect(after.get('wasl_commit_batch_size_sum')).toBeGreaterThanOrEqual(3 + 6);
    // Each of those transactions says how long it held the register.
    expect(after.get('wasl_register_write_seconds_count')).toBe(after.get('wasl_commit_batch_size_count'));
    expect(after.get('wasl_register_write_seconds_sum')).toBeGreaterThan(0);
    // The process's own figures come along.
    expect(after.get('process_cpu_seconds_total')).toBeGreaterThan(0);
    expect(after.has('nodejs_heap_size_used_bytes')).toBe(true);
  });

  it("shows the outbox's backlog by channel and the age of its oldest delivery, and counts the deliveries given up on", async () => {
    // Nothing listens on port 1: every send fails, temporarily.
    const clock = clockFrom('2026-11-24T09:00:00Z');
    let late = 0;
    const now = () => new Date(clock().getTime() + late);
    const waiting = await start({ relay: false, adapters: offline(), now, config: { adapters: { email: { outbound: { url: 'smtp://127.0.0.1:1' } } }, outbox: { retryBaseMs: 3_600_000, retryMaxMs: 3_600_000 } } });
    await sendLetters(waiting, 1);
    // The forward and the receipt: both tried once, both waiting for their retry an hour on.
    await waitFor(async () => (await scrape(waiting)).get('wasl_outbox_pending_deliveries{channel="email"}') === 2, { what: 'two deliveries back in the queue' });
    late = 90_000;
    const backlog = await scrape(waiting);
    expect(backlog.get('wasl_outbox_oldest_pending_age_seconds{channel="email"}')).toBeGreaterThanOrEqual(90);
    expect(backlog.get('wasl_outbox_oldest_pending_age_seconds{channel="email"}')).toBeLessThan(3600);
    expect(backlog.has('wasl_deliveries_failed_total{channel="email",kind="forward"}')).toBe(false);
    await waiting.stop();

    const givingUp = await start({ relay: false, adapters: offline(), config: { adapters: { email: { outbound: { url: 'smtp://127.0.0.1:1' } } }, outbox: { maxAttempts: 1 } } });
    await sendLetters(givingUp, 2);
    await waitFor(async () => (await scrape(givingUp)).get('wasl_deliveries_failed_total{channel="email",kind="receipt"}') === 2, { what: 'the receipts marked failed' });
    const failed = await scrape(givingUp);
    expect(failed.get('wasl_deliveries_failed_total{channel="email",kind="forward"}')).toBe(2);
    expect(failed.has('wasl_outbox_pending_deliveries{channel="email"}')).toBe(false);
  });

  it('keeps each gateway its own figures, two gateways in one process', async () => {
    const busy = await start({ relay: false, adapters: offline() });
    const idle = await startTestGateway({ relay: false, adapters: offline() });
    try {
      await sendLetters(busy, 2);
      expect((await scrape(busy)).get('wasl_letters_registered_total{channel="email",direction="incoming"}')).toBe(2);
      expect((await scrape(idle)).has('wasl_letters_registered_total{channel="email",direction="incoming"}')).toBe(false);
    } finally {
      await idle.stop();
    }
  });

  it('is refused (403, in the reader\'s language) when the web server listens off loopback, unless http.exposeMetrics is set', async () => {
    const closed = await start({ relay: false, config: { http: { host: '0.0.0.0' } } });
    const refused = await fetch(`http://127.0.0.1:${new URL(closed.httpUrl).port}/metrics`, { headers: { 'accept-language': 'en' } });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toBe(
      "The gateway's metrics are only served on this machine (http://127.0.0.1), since they tell the office's traffic and backlog. To serve them on this address, the operator sets http.exposeMetrics: true.\n",
    );
    await closed.stop();

    const open = await start({ relay: false, config: { http: { host: '0.0.0.0', exposeMetrics: true } } });
    const served = await fetch(`http://127.0.0.1:${new URL(open.httpUrl).port}/metrics`);
    expect(served.status).toBe(200);
    expect(await served.text()).toContain('# TYPE wasl_letters_registered_total counter');
  });
});
