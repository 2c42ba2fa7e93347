/**
 * The SMTP limits of gateways that share a PostgreSQL register hold together: a sender's hourly
 * allowance spent on one gateway is spent on the other. While the register does not answer, the
 * limits are not waved: new sessions get 421 4.3.0 and letters 451 4.3.0, and mail flows again
 * once it is back. Each gateway here keeps its letters in a SQLite register of its own; their
 * email adapters take their limits from one real PostgreSQL register.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { AdapterDefinition, RateLimits } from '../../src/channels/port.js';
import { registerRateLimits } from '../../src/limits/rate-limits.js';
import { connectFrom, type BoundClient } from '../fixtures/email/bound-client.js';
import { dnsFromRecords, offlineAdapters } from '../fixtures/email/offline-dns.js';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { composeMessage } from '../helpers/messages.js';
import { POSTGRES_SKIP_REASON, startPostgres, temporaryPostgresRegister, type PostgresServer } from '../helpers/postgres-server.js';

let postgres: PostgresServer | undefined;
beforeAll(async () => {
  if (!POSTGRES_SKIP_REASON) postgres = await startPostgres();
}, 60_000);
afterAll(() => postgres?.stop());

/** The registry's adapters (DNS answered offline), the email adapter taking its limits from `limits`. */
function adaptersWithLimits(limits: RateLimits): readonly AdapterDefinition[] {
  return offlineAdapters(dnsFromRecords({})).map((definition) =>
    definition.name === 'email' ? { ...definition, create: (context) => definition.create({ ...context, limits }) } : definition,
  );
}

/** A gateway whose email limits live in the shared register; stopped when the test ends. */
async function gatewaySharing(limits: RateLimits, emailLimits: Record<string, unknown>): Promise<TestGateway> {
  const gateway = await startTestGateway({
    config: { adapters: { email: { limits: { exemptClients: [], ...emailLimits } } } },
    adapters: adaptersWithLimits(limits),
  });
  onTestFinished(() => gateway.stop());
  return gateway;
}

async function client(gateway: TestGateway, localAddress: string): Promise<BoundClient> {
  const opened = await connectFrom({ port: gateway.smtpPort, localAddress });
  onTestFinished(() => opened.close());
  return opened;
}

const letterFrom = async (client: BoundClient, from: string) =>
  client.send({ from, to: 'rh@wasl.local', message: await composeMessage({ from, to: 'rh@wasl.local', subject: 'Demande', text: 'Bonjour' }) });

describe.skipIf(POSTGRES_SKIP_REASON)('SMTP limits kept in a PostgreSQL register', () => {
  it("a sender's hourly allowance is spent across both gateways, while another sender still gets 250", async () => {
    const shared = await temporaryPostgresRegister(await postgres!.createDatabase());
    const limits = registerRateLimits({ database: shared, now: Date.now, channel: 'email' });
    const [first, second] = [await gatewaySharing(limits, { lettersPerSenderPerHour: 3 }), await gatewaySharing(limits, { lettersPerSenderPerHour: 3 })];
    const onFirst = await client(first!, '127.0.0.2');
    const onSecond = await client(second!, '127.0.0.3');
    const codes = [];
    for (const each of [onFirst, onFirst, onSecond, onSecond]) codes.push((await letterFrom(each, 'loud@citizen.test')).code);
    expect(codes).toEqual([250, 250, 250, 450]);
    const refused = await letterFrom(onFirst, 'loud@citizen.test');
    expect(refused.text).toMatch(/^450 4\.7\.1 Too many letters from <loud@citizen\.test>; please try again in \d+ minutes/);
    expect((await letterFrom(onSecond, 'quiet@citizen.test')).code).toBe(250);
  });

  it('while the register does not answer: 421 4.3.0 to a new session, 451 4.3.0 to a letter, and mail again once it is back', async () => {
    const shared = await temporaryPostgresRegister(await postgres!.createDatabase());
    const limits = registerRateLimits({ database: shared, now: Date.now, channel: 'email', answerWithinMs: 500 });
    const gateway = await gatewaySharing(limits, {});
    const open = await client(gateway, '127.0.0.2');
    expect(open.greeting.code).toBe(220);

    await postgres!.halt();
    try {
      const letter = await letterFrom(open, 'amina@citizen.test');
      expect(letter.text).toMatch(/^451 4\.3\.0 The limits on new mail cannot be checked right now/);
      const session = await client(gateway, '127.0.0.3');
      expect(session.greeting.code).toBe(421);
      expect(session.greeting.text).toContain('4.3.0 The limits on new mail cannot be checked right now');
    } finally {
      await postgres!.start();
    }

    const again = await client(gateway, '127.0.0.4');
    expect(again.greeting.code).toBe(220);
    expect((await letterFrom(again, 'amina@citizen.test')).code).toBe(250);
  });
});
