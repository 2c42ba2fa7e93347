/**
 * Several gateways on one PostgreSQL register, as a national service or an office with two
 * gateways for availability runs them: real gateways, real SMTP, a real PostgreSQL 15 server.
 */
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadOrCreateSigningKey } from '../../src/evidence/signing-key.js';
import { verifyRegister } from '../../src/receipts/register-verify.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { POSTGRES_SKIP_REASON, postgresPerFile } from '../helpers/postgres-server.js';
import { sendLetter } from '../helpers/smtp-client.js';

const NUMBER = /\d{4}-A-\d{6}/;

describe.skipIf(POSTGRES_SKIP_REASON !== undefined)('gateways sharing one PostgreSQL register', () => {
  const postgres = postgresPerFile();

  /** Two gateways on a fresh database, the second with the first's keys and secret (the same files on every gateway). */
  async function twoGateways(): Promise<[TestGateway, TestGateway]> {
    const url = await postgres().createDatabase();
    const first = await startTestGateway({ config: { database: { url } } });
    const second = await startTestGateway({ config: { database: { url } }, dataDir: first.dataDir });
    return [first, second];
  }
  async function stopAll(gateways: TestGateway[]): Promise<void> {
    for (const gateway of gateways.reverse()) await gateway.stop();
    rmSync(gateways[0]!.dataDir, { recursive: true, force: true });
  }
  const letter = (index: number) => `From: c${index}@citizen.test\r\nSubject: Lettre ${index}\r\nMessage-ID: <shared-${index}@citizen.test>\r\n\r\nBonjour ${index}\r\n`;

  it('letters sent to both at once get one gapless series of numbers, each once, all forwarded and receipted, on one chain that verifies', { timeout: 60_000 }, async () => {
    const gateways = await twoGateways();
    try {
      const count = 40;
      const replies = await Promise.all(
        Array.from({ length: count }, (_, index) =>
          sendLetter({ port: gateways[index % 2]!.smtpPort, from: `c${index}@citizen.test`, to: ['rh@wasl.local'], message: letter(index) }),
        ),
      );
      expect(replies.map((reply) => reply.data?.code)).toEqual(Array(count).fill(250));
      const numbers = replies.map((reply) => NUMBER.exec(reply.data!.text)![0]).sort();
      const year = numbers[0]!.slice(0, 4);
      expect(numbers).toEqual(Array.from({ length: count }, (_, index) => `${year}-A-${String(index + 1).padStart(6, '0')}`));

      // Each letter's forward and receipt left from one gateway or the other, once.
      const sinks = gateways.map((gateway) => gateway.relay!);
      const sent = () => sinks.flatMap((sink) => sink.messages);
      await Promise.all(gateways.map((gateway) => gateway.gateway.outbox.idle()));
      expect(sent().filter((message) => message.rcptTo.includes('rh-team@dept.test'))).toHaveLength(count);
      expect(sent().filter((message) => message.rcptTo.some((to) => to.endsWith('@citizen.test')))).toHaveLength(count);

      const { publicKey } = loadOrCreateSigningKey({ dataDir: gateways[0].dataDir });
      expect(await gateways[1].gateway.database.read((tx) => verifyRegister({ tx, publicKey }))).toMatchObject({ ok: true, checked: count, problems: [] });
    } finally {
      await stopAll(gateways);
    }
  });

  it('the same message handed to both gateways at once is registered once, and both senders are told its one number', { timeout: 60_000 }, async () => {
    const gateways = await twoGateways();
    try {
      for (let round = 0; round < 5; round++) {
        const same = letter(100 + round);
        const replies = await Promise.all(gateways.map((gateway) => sendLetter({ port: gateway.smtpPort, from: 'twice@citizen.test', to: ['rh@wasl.local'], message: same })));
        expect(replies.map((reply) => reply.data?.code)).toEqual([250, 250]);
        const [one, other] = replies.map((reply) => NUMBER.exec(reply.data!.text)![0]);
        expect(one).toBe(other);
      }
      const listed = await gateways[0].gateway.port.listLetters({ limit: 100 });
      expect(listed).toHaveLength(5);
    } finally {
      await stopAll(gateways);
    }
  });
});
