/**
 * The SMTP limits of gateways that share a PostgreSQL register hold together: a sender's hourly
 * allowance spent on one gateway is spent on the other, and so is a client's. While the register
 * does not answer, the limits are not waved: a new session gets 421 4.3.0 and a letter 451 4.3.0
 * at MAIL FROM, and mail flows again once it is back. Real gateways on a real PostgreSQL 15.
 */
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { connectFrom, type BoundClient } from '../fixtures/email/bound-client.js';
import { dnsFromRecords, offlineAdapters } from '../fixtures/email/offline-dns.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { composeMessage } from '../helpers/messages.js';
import { POSTGRES_SKIP_REASON, startPostgres, type PostgresServer } from '../helpers/postgres-server.js';

let postgres: PostgresServer | undefined;
beforeAll(async () => {
  if (!POSTGRES_SKIP_REASON) postgres = await startPostgres();
}, 60_000);
afterAll(() => postgres?.stop());

/** Gateways on one fresh PostgreSQL database, sharing the first's data directory (its keys and secret); stopped when the test ends. */
async function gatewaysSharingOneRegister(count: number, limits: Record<string, unknown>): Promise<TestGateway[]> {
  const url = await postgres!.createDatabase();
  const config = { database: { url }, adapters: { email: { limits: { exemptClients: [], ...limits } } } };
  const adapters = offlineAdapters(dnsFromRecords({}));
  const gateways = [await startTestGateway({ config, adapters })];
  while (gateways.length < count) gateways.push(await startTestGateway({ config, adapters, dataDir: gateways[0]!.dataDir }));
  onTestFinished(async () => {
    for (const gateway of gateways.reverse()) await gateway.stop();
    rmSync(gateways[0]!.dataDir, { recursive: true, force: true });
  });
  return gateways;
}

async function client(gateway: TestGateway, localAddress: string): Promise<BoundClient> {
  const opened = await connectFrom({ port: gateway.smtpPort, localAddress });
  onTestFinished(() => opened.close());
  return opened;
}

const letterFrom = async (client: BoundClient, from: string) =>
  client.send({ from, to: 'rh@wasl.local', message: await composeMessage({ from, to: 'rh@wasl.local', subject: 'Demande', text: 'Bonjour' }) });

describe.skipIf(POSTGRES_SKIP_REASON)('SMTP limits of gateways sharing one PostgreSQL register', () => {
  it("a sender's hourly allowance is spent across both gateways, while another sender still gets 250", async () => {
    const [first, second] = await gatewaysSharingOneRegister(2, { lettersPerSenderPerHour: 3 });
    const onFirst = await client(first!, '127.0.0.2');
    const onSecond = await client(second!, '127.0.0.3');
    const codes = [];
    for (const each of [onFirst, onFirst, onSecond, onSecond]) codes.push((await letterFrom(each, 'loud@citizen.test')).code);
    expect(codes).toEqual([250, 250, 250, 450]);
    const refused = await letterFrom(onFirst, 'loud@citizen.test');
    expect(refused.text).toMatch(/^450 4\.7\.1 Too many letters from <loud@citizen\.test>; please try again in \d+ minutes/);
    expect((await letterFrom(onSecond, 'quiet@citizen.test')).code).toBe(250);
  });

  it("a client's new sessions are counted across both gateways", async () => {
    const [first, second] = await gatewaysSharingOneRegister(2, { connectionsPerClientPerMinute: 3 });
    const greetings = [];
    for (const gateway of [first, second, first, second]) greetings.push((await client(gateway!, '127.0.0.4')).greeting);
    expect(greetings.map((reply) => reply.code)).toEqual([220, 220, 220, 421]);
    expect(greetings[3]!.text).toMatch(/4\.7\.0 Too many new sessions from 127\.0\.0\.4; please try again in \d+ seconds/);
  });

  it('while the register does not answer: 421 4.3.0 to a new session, 451 4.3.0 to a letter, and mail again once it is back', async () => {
    const [gateway] = await gatewaysSharingOneRegister(1, {});
    const open = await client(gateway!, '127.0.0.2');
    expect(open.greeting.code).toBe(220);

    await postgres!.halt();
    try {
      const letter = await letterFrom(open, 'amina@citizen.test');
      expect(letter.text).toMatch(/^451 4\.3\.0 The limits on new mail cannot be checked right now/);
      const session = await client(gateway!, '127.0.0.3');
      expect(session.greeting.code).toBe(421);
      expect(session.greeting.text).toContain('4.3.0 The limits on new mail cannot be checked right now');
    } finally {
      await postgres!.start();
    }

    const again = await client(gateway!, '127.0.0.4');
    expect(again.greeting.code).toBe(220);
    expect((await letterFrom(again, 'amina@citizen.test')).code).toBe(250);
  });
});
