/**
 * Departments answer by replying to the forward: the answer is registered as an outgoing letter
 * and goes back to the sender. Reply addresses are bound to the letter by a secret.
 */
import { describe, expect, it } from 'vitest';
import { letters } from '../../src/db/schema.js';
import { waitFor, type TestGateway, gatewayPerTest, rowsOf } from '../helpers/gateway.js';
import type { SunkMessage } from '../helpers/mail-sink.js';
import { composeMessage } from '../helpers/messages.js';
import { receiptFacts } from '../helpers/receipts.js';
import { sendLetter } from '../helpers/smtp-client.js';

const start = gatewayPerTest();

async function letterForwarded(test: TestGateway): Promise<{ number: string; forward: SunkMessage }> {
  const message = await composeMessage({ from: 'Karim <karim@citizen.test>', to: 'rh@wasl.local', subject: 'Congé', text: 'Bonjour, ma demande de congé.', messageId: '<citizen-1@citizen.test>' });
  const reply = await sendLetter({ port: test.smtpPort, from: 'karim@citizen.test', to: ['rh@wasl.local'], message });
  const number = /\d{4}-A-\d{6}/.exec(reply.data!.text)![0];
  const [forward] = await test.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
  await test.relay!.waitForMessages(1, { to: 'karim@citizen.test' });
  return { number, forward: forward! };
}

describe('a department answering by email', () => {
  it('replies to the forward and the sender receives the answer as an outgoing letter with its own number', async () => {
    const test = await start();
    const { number, forward } = await letterForwarded(test);
    const replyAddress = forward.parsed.replyTo!.value[0]!.address!;

    const answer = await composeMessage({
      from: 'Service RH <rh-team@dept.test>',
      to: replyAddress,
      subject: `Re: ${forward.parsed.subject}`,
      text: 'Votre congé est accordé.',
      inReplyTo: forward.parsed.messageId,
    });
    const reply = await sendLetter({ port: test.smtpPort, from: 'rh-team@dept.test', to: [replyAddress], message: answer });
    expect(reply.data?.code).toBe(250);
    const answerNumber = /\d{4}-D-\d{6}/.exec(reply.data!.text)?.[0];
    expect(answerNumber).toBeDefined();

    const delivered = await test.relay!.waitForMessages(2, { to: 'karim@citizen.test' });
    const toCitizen = delivered[1]!;
    expect(toCitizen.parsed.subject).toContain(answerNumber);
    expect(toCitizen.parsed.subject).toContain(number);
    expect(toCitizen.parsed.text).toContain('Votre congé est accordé.');
    // The answer threads under the citizen's own message.
    expect(toCitizen.parsed.inReplyTo).toBe('<citizen-1@citizen.test>');

    // Whoever answered learns that the answer reached the sender.
    const confirmation = (await test.relay!.waitForMessages(2, { to: 'rh-team@dept.test' }))[1];
    expect(confirmation!.parsed.subject).toContain(answerNumber);
    expect(confirmation!.parsed.headers.get('auto-submitted')).toBe('auto-replied');

    const original = (await test.gateway.port.findLetter(number))!;
    expect(original.status).toBe('answered');
    const answerLetter = (await test.gateway.port.findLetter(answerNumber!))!;
    expect(answerLetter).toMatchObject({ direction: 'outgoing', answers: number, departments: ['RH'] });

    const facts = await receiptFacts<{ answeredBy: string[]; history: { type: string }[] }>(original.receiptUrl);
    expect(facts.answeredBy).toEqual([answerNumber]);
    await waitFor(async () => (await receiptFacts<typeof facts>(original.receiptUrl)).history.some((event) => event.type === 'answer_delivered'), {
      what: 'answer_delivered on the receipt',
    });
    const answerFacts = await receiptFacts<{ answers: string }>(answerLetter.receiptUrl);
    expect(answerFacts.answers).toBe(number);
  });

  it('with a forged or altered reply token is registered as a new letter for the mail office, never attached to the letter', async () => {
    const test = await start();
    const { number, forward } = await letterForwarded(test);
    const genuine = forward.parsed.replyTo!.value[0]!.address!;
    const forged = genuine.replace(/[0-9a-f](?=@)/, (digit) => (digit === '0' ? '1' : '0'));

    const message = await composeMessage({ from: 'intruder@evil.test', to: forged, subject: 'Re: Congé', text: 'Refusé !' });
    const reply = await sendLetter({ port: test.smtpPort, from: 'intruder@evil.test', to: [forged], message });

    expect(reply.data?.code).toBe(250);
    const newNumber = /\d{4}-A-\d{6}/.exec(reply.data!.text)?.[0];
    expect(newNumber).toBeDefined();
    expect(newNumber).not.toBe(number);
    expect((await test.gateway.port.findLetter(newNumber!))).toMatchObject({ departments: ['BO'], direction: 'incoming' });
    expect((await test.gateway.port.findLetter(number))!.status).not.toBe('answered');
    await test.gateway.outbox.idle();
    expect(test.relay!.to('karim@citizen.test')).toHaveLength(1);
  });

  it('an out-of-office reply from the department to the forward is kept for the mail office, never sent to the citizen', async () => {
    const test = await start();
    const { number, forward } = await letterForwarded(test);
    const replyAddress = forward.parsed.replyTo!.value[0]!.address!;
    const message = `From: rh-team@dept.test\r\nTo: ${replyAddress}\r\nSubject: Absence\r\nAuto-Submitted: auto-replied\r\n\r\nJe suis absent.\r\n`;
    const reply = await sendLetter({ port: test.smtpPort, from: 'rh-team@dept.test', to: [replyAddress], message });

    expect(reply.data?.code).toBe(250);
    await test.gateway.outbox.idle();
    expect(test.relay!.to('karim@citizen.test')).toHaveLength(1);
    expect((await test.gateway.port.findLetter(number))!.status).not.toBe('answered');
    const setAside = (await rowsOf(test.gateway, letters)).at(-1)!;
    expect(setAside).toMatchObject({ direction: 'A', automated: 'auto-reply' });
  });
});
