/**
 * A machine whose DNS does not answer (a laptop offline, a closed network): the configured
 * resolver is a real UDP socket on 127.0.0.1 that reads every query and never replies. Letters
 * still get their 250, registered with `temperror` verdicts, and a domain that got no answer is
 * not asked again for the next letter. No query leaves the machine.
 */
import { createSocket, type Socket } from 'node:dgram';
import { afterEach, describe, expect, it } from 'vitest';
import { gatewayPerTest, type TestGateway } from '../helpers/gateway.js';
import { sendLetter } from '../helpers/smtp-client.js';

const start = gatewayPerTest();

interface SilentDns {
  address: string;
  /** Every query received, as `id TYPE name`: a retry of one query keeps its id, a new query has a new one. */
  readonly queries: Set<string>;
  close(): Promise<void>;
}

/** The question of a DNS query (RFC 1035 §4.1): its id, name and type. */
function questionOf(packet: Buffer): string {
  const labels: string[] = [];
  let at = 12;
  while (packet[at]! > 0) {
    labels.push(packet.subarray(at + 1, at + 1 + packet[at]!).toString('latin1'));
    at += packet[at]! + 1;
  }
  const type = packet.readUInt16BE(at + 1);
  return `${packet.readUInt16BE(0)} ${type === 16 ? 'TXT' : type} ${labels.join('.')}`;
}

async function silentDns(): Promise<SilentDns> {
  const socket: Socket = createSocket('udp4');
  const queries = new Set<string>();
  socket.on('message', (packet) => queries.add(questionOf(packet)));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${socket.address().port}`, queries, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}

let dns: SilentDns | undefined;
afterEach(async () => {
  await dns?.close();
  dns = undefined;
});

function letterFrom(address: string, id: string): string {
  return `From: ${address}\r\nTo: rh@wasl.local\r\nSubject: Demande\r\nMessage-ID: <${id}@citoyen.ma>\r\n\r\nBonjour\r\n`;
}

const numberIn = (text: string | undefined) => /\d{4}-A-\d{6}/.exec(text ?? '')?.[0];

async function authenticationOf(test: TestGateway, number: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${(await test.gateway.port.findLetter(number))!.receiptUrl}.json`);
  return ((await response.json()) as { letter: { authentication: Record<string, unknown> } }).letter.authentication;
}

describe('on a machine whose DNS does not answer', () => {
  it('registers the letter with temperror verdicts (even with dmarcPolicy reject), and does not ask again for the next letter from that domain', async () => {
    dns = await silentDns();
    const test = await start({
      config: { adapters: { email: { dmarcPolicy: 'reject', authentication: { dnsServers: [dns.address], dnsTimeoutMs: 200, dnsBudgetMs: 2000 } } } },
    });

    const first = await sendLetter({ port: test.smtpPort, from: 'fatima@citoyen.ma', to: ['rh@wasl.local'], message: letterFrom('fatima@citoyen.ma', 'first') });
    expect(first.data?.code).toBe(250);
    expect(await authenticationOf(test, numberIn(first.data?.text)!)).toMatchObject({ verdict: 'unverified', spf: 'temperror', dmarc: 'temperror', domain: 'citoyen.ma' });
    const asked = [...dns.queries].map((query) => query.split(' ').slice(1).join(' '));
    expect(new Set(asked)).toEqual(new Set(['TXT citoyen.ma', 'TXT _dmarc.citoyen.ma']));

    const before = new Set(dns.queries);
    const second = await sendLetter({ port: test.smtpPort, from: 'karim@citoyen.ma', to: ['rh@wasl.local'], message: letterFrom('karim@citoyen.ma', 'second') });
    expect(second.data?.code).toBe(250);
    expect(await authenticationOf(test, numberIn(second.data?.text)!)).toMatchObject({ spf: 'temperror', dmarc: 'temperror' });
    expect([...dns.queries].filter((query) => !before.has(query))).toEqual([]);
    await test.relay!.waitForMessages(2, { to: 'rh-team@dept.test' });
  });
});
