/**
 * What every channel adapter must honour, written once and run against each adapter's driver
 * (test/helpers/channel-drivers.ts): a real gateway, spoken to only through the channel's real
 * client path, with the register read through the port and the receipt over HTTP. Each runs on
 * both registers: the embedded SQLite file, and a real PostgreSQL server.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { channelDrivers, type ChannelDriver, type DriverOptions } from '../helpers/channel-drivers.js';
import { waitFor } from '../helpers/gateway.js';
import { POSTGRES_SKIP_REASON, startPostgres, type PostgresServer } from '../helpers/postgres-server.js';
import { receiptFacts } from '../helpers/receipts.js';

const LETTER = { department: 'RH', subject: 'Attestation de travail', text: 'Bonjour,\nune attestation de travail svp.' };
const incomingNumber = (text: string) => /\d{4}-A-\d{6}/.exec(text)?.[0];

let postgres: PostgresServer | undefined;
beforeAll(async () => {
  if (POSTGRES_SKIP_REASON === undefined) postgres = await startPostgres();
}, 60_000);
afterAll(async () => {
  await postgres?.stop();
});

const registers: readonly { register: string; options: () => Promise<DriverOptions> }[] = [
  { register: 'SQLite', options: async () => ({}) },
  ...(POSTGRES_SKIP_REASON === undefined ? [{ register: 'PostgreSQL', options: async () => ({ config: { database: { url: await postgres!.createDatabase() } } }) }] : []),
];
const cases = channelDrivers.flatMap((driver) => registers.map((register) => ({ ...driver, ...register })));

describe.each(cases)('the $channel adapter on $register', ({ driver: makeDriver, register, options }) => {
  let driver: ChannelDriver | undefined;
  afterEach(async () => {
    await driver?.stop();
    driver = undefined;
  });
  async function started(): Promise<ChannelDriver> {
    driver = makeDriver(await options());
    await driver.start();
    return driver;
  }

  it('registers a letter once with a number the sender hears on the channel with its receipt link, and forwards it to the department there', async () => {
    const channel = await started();
    const answer = await channel.send(LETTER);
    expect(answer.accepted).toBe(true);
    const number = incomingNumber(answer.text);
    expect(number).toBeDefined();

    const letter = await channel.test.gateway.port.findLetter(number!);
    expect(letter).toMatchObject({ number, channel: channel.channel, direction: 'incoming', subject: LETTER.subject, departments: ['RH'] });
    expect(await channel.test.gateway.port.listLetters({})).toHaveLength(1);

    await waitFor(async () => (await channel.receiptsSeen()).length > 0, { what: 'the receipt on the channel' });
    const [receipt] = await channel.receiptsSeen();
    expect(receipt).toContain(number);
    expect(receipt).toContain(letter!.receiptUrl);
    expect((await fetch(letter!.receiptUrl)).status).toBe(200);

    const forward = await channel.forwardOf(number!);
    expect(forward.text).toContain(number);
    expect(forward.text).toContain(LETTER.subject);
    expect(await channel.forwardsSeen(number!)).toHaveLength(1);
  });

  it('takes the same message delivered again as the letter already registered: no second letter, receipt or forward', async () => {
    const channel = await started();
    const number = incomingNumber((await channel.send(LETTER)).text)!;
    await channel.forwardOf(number);
    await waitFor(async () => (await channel.receiptsSeen()).length > 0, { what: 'the receipt on the channel' });
    const forwardsBefore = channel.test.relay!.messages.length;

    const repeatAnswer = await channel.sendAgain();

    // A channel that answers the repeat at once names the letter already registered.
    if (repeatAnswer) expect(incomingNumber(repeatAnswer.text)).toBe(number);
    expect((await channel.test.gateway.port.listLetters({})).map((letter) => letter.number)).toEqual([number]);
    expect(await channel.receiptsSeen()).toHaveLength(1);
    expect(await channel.forwardsSeen(number)).toHaveLength(1);
    // Every forward of this gateway also goes by email to RH's team: the relay shows any second one.
    expect(channel.test.relay!.messages).toHaveLength(forwardsBefore);
  });

  it('after a restart of the gateway, still takes the same message delivered again as the letter already registered', async () => {
    const channel = await started();
    const number = incomingNumber((await channel.send(LETTER)).text)!;
    await channel.forwardOf(number);
    await waitFor(async () => (await channel.receiptsSeen()).length > 0, { what: 'the receipt on the channel' });

    await channel.test.restart();
    await channel.sendAgain();

    expect((await channel.test.gateway.port.listLetters({})).map((letter) => letter.number)).toEqual([number]);
    expect(await channel.receiptsSeen()).toHaveLength(1);
    expect(await channel.forwardsSeen(number)).toHaveLength(1);
  });

  it("delivers the department's answer in the forward's thread to the sender on the sender's channel, as an outgoing letter answering the original", async () => {
    const channel = await started();
    const number = incomingNumber((await channel.send(LETTER)).text)!;
    const forward = await channel.forwardOf(number);

    await forward.answer('Votre attestation est prête.');

    await waitFor(async () => (await channel.answersSeen()).length > 0, { what: 'the answer on the channel' });
    const [seen] = await channel.answersSeen();
    expect(seen).toContain('Votre attestation est prête.');
    const answerNumber = /\d{4}-D-\d{6}/.exec(seen!)![0];
    expect(await channel.test.gateway.port.findLetter(answerNumber)).toMatchObject({ direction: 'outgoing', answers: number });
    const original = (await channel.test.gateway.port.findLetter(number))!;
    expect(original.status).toBe('answered');
    // The original's receipt, read over HTTP as its holder would, tells who answered and that the answer was delivered.
    const facts = () => receiptFacts<{ answeredBy: string[]; history: { type: string }[] }>(original.receiptUrl);
    expect((await facts()).answeredBy).toContain(answerNumber);
    await waitFor(async () => (await facts()).history.some((event) => event.type === 'answer_delivered'), { what: 'the answer recorded as delivered on the receipt' });
  });

  it('refuses a letter to a department that does not exist with an answer naming it, and registers nothing', async () => {
    const channel = await started();
    const answer = await channel.send({ ...LETTER, department: 'COMPTA' });
    expect(answer.accepted).toBe(false);
    expect(answer.text.toLowerCase()).toContain('compta');
    expect(await channel.test.gateway.port.listLetters({})).toEqual([]);
  });

  it.runIf(register === 'PostgreSQL')('with the register server down, tells the sender at once (try again later, or the letter is kept); once it is back, takes the letter without a restart', { timeout: 90_000 }, async () => {
    const channel = await started();
    await postgres!.halt();
    let refused;
    try {
      refused = await channel.send(LETTER);
    } finally {
      await postgres!.start();
    }
    expect(refused.accepted).toBe(false);
    const registered = async () => (await channel.test.gateway.port.listLetters({})).map((letter) => letter.number);
    if (/as soon as it is back|dès son retour/.test(refused.text)) {
      // A channel that keeps the message in hand (Matrix: the event is the homeserver's) registers it once the register returns.
      await waitFor(async () => (await registered()).length === 1, { timeoutMs: 20_000, what: 'the letter kept in hand registered' });
    } else {
      expect(refused.text).toMatch(channel.channel === 'email' ? /^451 4\.3\.0 / : /try again/i);
      const answer = await channel.send(LETTER);
      expect(answer.accepted).toBe(true);
      expect(await registered()).toEqual([incomingNumber(answer.text)]);
    }
    expect(await registered()).toHaveLength(1);
  });
});
