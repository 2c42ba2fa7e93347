/**
 * One client or one sender cannot starve the others: open sessions and new sessions per client
 * are capped (421), letters per client and per sender too (450 4.7.1 at MAIL FROM), while other
 * clients and senders keep getting 250. Clients are told apart by their loopback address.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { gatewayPerTest, type TestGateway } from '../helpers/gateway.js';
import { composeMessage } from '../helpers/messages.js';
import { connectFrom, type BoundClient } from '../fixtures/email/bound-client.js';

const startGateway = gatewayPerTest();
const clients: BoundClient[] = [];
// Registered after the gateway's hook, so it runs first: clients close before the gateway stops.
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

function start(limits: Record<string, unknown>) {
  return startGateway({ config: { adapters: { email: { limits: { exemptClients: [], ...limits } } } } });
}

async function client(test: TestGateway, localAddress: string): Promise<BoundClient> {
  const opened = await connectFrom({ port: test.smtpPort, localAddress });
  clients.push(opened);
  return opened;
}

const letter = (from: string) => composeMessage({ from, to: 'rh@wasl.local', subject: 'Demande', text: 'Bonjour' });

describe('per-client limits', () => {
  it('a client with too many open sessions gets 421, and another client still gets in and gets 250', async () => {
    const test = await start({ sessionsPerClient: 3 });
    const greetings = [];
    for (let index = 0; index < 4; index += 1) greetings.push((await client(test, '127.0.0.2')).greeting);
    expect(greetings.slice(0, 3).map((reply) => reply.code)).toEqual([220, 220, 220]);
    expect(greetings[3]!.code).toBe(421);
    expect(greetings[3]!.text).toContain('4.7.0 Too many open sessions from 127.0.0.2 (at most 3)');

    const other = await client(test, '127.0.0.3');
    expect(other.greeting.code).toBe(220);
    expect((await other.send({ from: 'other@citizen.test', to: 'rh@wasl.local', message: await letter('other@citizen.test') })).code).toBe(250);
  });

  it('a closed session frees its place', async () => {
    const test = await start({ sessionsPerClient: 1 });
    const first = await client(test, '127.0.0.2');
    expect(first.greeting.code).toBe(220);
    expect((await client(test, '127.0.0.2')).greeting.code).toBe(421);
    first.close();
    let again = await client(test, '127.0.0.2');
    // The server counts the session out when it sees the close; a retry right after may still be early.
    while (again.greeting.code === 421) again = await client(test, '127.0.0.2');
    expect(again.greeting.code).toBe(220);
  });

  it('a client opening sessions too fast gets 421 with the time to wait', async () => {
    const test = await start({ connectionsPerClientPerMinute: 2 });
    const greetings = [];
    for (let index = 0; index < 3; index += 1) greetings.push((await client(test, '127.0.0.4')).greeting);
    expect(greetings.map((reply) => reply.code)).toEqual([220, 220, 421]);
    expect(greetings[2]!.text).toMatch(/4\.7\.0 Too many new sessions from 127\.0\.0\.4; please try again in \d+ seconds/);
    expect((await client(test, '127.0.0.5')).greeting.code).toBe(220);
  });

  it('a flooding client is throttled with 450 4.7.1 whatever senders it claims, while another client still gets 250', async () => {
    const test = await start({ lettersPerClientPerMinute: 5 });
    const flooder = await client(test, '127.0.0.6');
    const codes: number[] = [];
    let refusal = '';
    for (let index = 0; index < 8; index += 1) {
      const reply = await flooder.send({ from: `flood${index}@spam.test`, to: 'rh@wasl.local', message: await letter(`flood${index}@spam.test`) });
      codes.push(reply.code);
      if (reply.code !== 250) refusal = reply.text;
    }
    expect(codes).toEqual([250, 250, 250, 250, 250, 450, 450, 450]);
    expect(refusal).toMatch(/^450 4\.7\.1 Too many letters from 127\.0\.0\.6; please try again in \d+ seconds/);

    const citizen = await client(test, '127.0.0.7');
    expect((await citizen.send({ from: 'amina@citizen.test', to: 'rh@wasl.local', message: await letter('amina@citizen.test') })).code).toBe(250);
  });
});

describe('per-sender limits', () => {
  it('a sender over its hourly allowance gets 450 4.7.1 from any client, while another sender on the same client gets 250', async () => {
    const test = await start({ lettersPerSenderPerHour: 3 });
    const first = await client(test, '127.0.0.8');
    const codes = [];
    for (let index = 0; index < 3; index += 1) codes.push((await first.send({ from: 'loud@citizen.test', to: 'rh@wasl.local', message: await letter('loud@citizen.test') })).code);
    expect(codes).toEqual([250, 250, 250]);

    // Changing client does not reset the sender's allowance.
    const second = await client(test, '127.0.0.9');
    const refused = await second.send({ from: 'LOUD@citizen.test', to: 'rh@wasl.local', message: await letter('loud@citizen.test') });
    expect(refused.code).toBe(450);
    expect(refused.text).toMatch(/^450 4\.7\.1 Too many letters from <LOUD@citizen\.test>; please try again in \d+ minutes/);

    expect((await second.send({ from: 'quiet@citizen.test', to: 'rh@wasl.local', message: await letter('quiet@citizen.test') })).code).toBe(250);
  });

  it('do not apply to the exempt clients (the loopback by default)', async () => {
    const test = await startGateway({ config: { adapters: { email: { limits: { lettersPerSenderPerHour: 1 } } } } });
    const local = await client(test, '127.0.0.1');
    const codes = [];
    for (let index = 0; index < 3; index += 1) codes.push((await local.send({ from: 'relay@citizen.test', to: 'rh@wasl.local', message: await letter('relay@citizen.test') })).code);
    expect(codes).toEqual([250, 250, 250]);
  });
});
