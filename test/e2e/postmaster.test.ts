/**
 * RFC 5321 §4.5.1: a mail domain accepts mail for its postmaster, with or without the domain and
 * in any case; here it is a letter for the mail office.
 */
import { describe, expect, it } from 'vitest';
import { gatewayPerTest } from '../helpers/gateway.js';
import { composeMessage } from '../helpers/messages.js';
import { sendLetter } from '../helpers/smtp-client.js';

const start = gatewayPerTest();

const numberIn = (text: string | undefined) => /\d{4}-A-\d{6}/.exec(text ?? '')?.[0];

async function writeTo(port: number, recipient: string) {
  const message = await composeMessage({ from: 'admin@neighbour.test', to: recipient, subject: 'Your server sends us mail', text: 'Hello postmaster' });
  return sendLetter({ port, from: 'admin@neighbour.test', to: [recipient], message });
}

describe('mail to the postmaster', () => {
  it('is accepted as postmaster@domain in any case, and as a bare <postmaster>, and registered for the mail office', async () => {
    const test = await start({ relay: false, config: { routing: { fallbackDepartment: 'BO', mailOffice: 'URB' } } });
    for (const recipient of ['Postmaster@wasl.local', 'postmaster', 'POSTMASTER']) {
      const reply = await writeTo(test.smtpPort, recipient);
      expect(reply.rcpt.map((answer) => answer.code)).toEqual([250]);
      expect(reply.data?.code).toBe(250);
      const number = numberIn(reply.data?.text);
      expect((await test.gateway.port.findLetter(number!))?.departments, recipient).toEqual(['URB']);
    }
  });

  it('goes to the fallback department when no mail office is named', async () => {
    const test = await start({ relay: false, config: { routing: { fallbackDepartment: 'RH' } } });
    const reply = await writeTo(test.smtpPort, 'postmaster@wasl.local');
    expect((await test.gateway.port.findLetter(numberIn(reply.data?.text)!))?.departments).toEqual(['RH']);
  });

  it('of another domain is still refused: no relay', async () => {
    const test = await start({ relay: false });
    const reply = await writeTo(test.smtpPort, 'postmaster@elsewhere.test');
    expect(reply.rcpt[0]?.code).toBe(550);
  });
});
