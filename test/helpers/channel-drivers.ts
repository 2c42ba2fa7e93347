/**
 * One driver per channel adapter, for the adapter contract suite: each starts a real gateway
 * where a citizen writes on that channel and the RH department is reached on that channel, and
 * speaks to it only through the channel's real client path. A new adapter (the web portal) adds
 * its driver here and inherits every scenario of the contract.
 */
import { bodyOf, startMatrixWorld, threadOf, type MatrixWorld } from './fake-matrix.js';
import type { SlackCall } from './fake-slack.js';
import { startTestGateway, TEST_DEPARTMENTS, waitFor, type PartialConfig, type TestGateway } from './gateway.js';
import { composeMessage } from './messages.js';
import { command, forwardIn, isForwardOf, postsTo, startSlackWorld, threadReply, type SlackWorld } from './slack-world.js';
import { sendLetter } from './smtp-client.js';

export interface LetterToSend {
  department: string;
  subject: string;
  text: string;
}

/** What the channel answered the sender at once (an SMTP reply, an ephemeral text, a notice). */
export interface ImmediateAnswer {
  accepted: boolean;
  text: string;
}

/** A letter as the department saw it on the channel, and the way to answer it there. */
export interface ForwardSeen {
  text: string;
  /** Answers in the forward's thread, or to its reply address. */
  answer(text: string): Promise<void>;
}

export interface ChannelDriver {
  readonly channel: string;
  /** The gateway under test (after `start`). */
  readonly test: TestGateway;
  start(): Promise<void>;
  send(letter: LetterToSend): Promise<ImmediateAnswer>;
  /**
   * Delivers the last letter sent again, as the channel's own retry or replay would, once the
   * gateway has handled it; returns what the channel answered the repeat at once, where it answers.
   */
  sendAgain(): Promise<ImmediateAnswer | undefined>;
  /** What the sender received on the channel that carries a receipt link (answers are not receipts). */
  receiptsSeen(): Promise<string[]>;
  /** Every forward of that letter the department has received on this channel so far. */
  forwardsSeen(number: string): Promise<string[]>;
  /** Waits for the forward of that letter to the department on this channel. */
  forwardOf(number: string): Promise<ForwardSeen>;
  /** What the sender received on the channel that carries an outgoing letter's number. */
  answersSeen(): Promise<string[]>;
  stop(): Promise<void>;
}

/** What a driver's gateway is given beyond its channel's settings (e.g. a PostgreSQL register). */
export interface DriverOptions {
  config?: PartialConfig;
}

const OUTGOING_NUMBER = /\d{4}-D-\d{6}/;
const isReceipt = (text: string) => text.includes('/r/') && !OUTGOING_NUMBER.test(text);

function started<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('the driver is not started');
  return value;
}

/** Letters by SMTP to the gateway; the department's and the sender's mailboxes are the relay sink. */
export function emailDriver({ config = {} }: DriverOptions = {}): ChannelDriver {
  const citizen = 'karim@citizen.test';
  const department = 'rh-team@dept.test';
  let test: TestGateway | undefined;
  let last: { to: string; message: Buffer } | undefined;

  const mailTo = (address: string) => started(test).relay!.to(address).map((mail) => `${mail.parsed.subject ?? ''}\n${mail.parsed.text ?? ''}`);
  async function deliver({ to, message }: { to: string; message: Buffer }): Promise<ImmediateAnswer> {
    const reply = await sendLetter({ port: started(test).smtpPort, from: citizen, to: [to], message });
    const final = reply.data ?? reply.rcpt[0]!;
    return { accepted: final.code === 250, text: `${final.code} ${final.text}` };
  }

  return {
    channel: 'email',
    get test() {
      return started(test);
    },
    async start() {
      test = await startTestGateway({ config });
    },
    async send({ department: code, subject, text }) {
      const to = TEST_DEPARTMENTS.find((known) => known.code === code)?.addresses[0] ?? `${code.toLowerCase()}@wasl.local`;
      const message = await composeMessage({ from: `Karim <${citizen}>`, to, subject, text, messageId: `<contract-${Date.now()}@citizen.test>` });
      last = { to, message };
      return deliver(last);
    },
    sendAgain() {
      return deliver(started(last));
    },
    async receiptsSeen() {
      await started(test).gateway.outbox.idle();
      return mailTo(citizen).filter(isReceipt);
    },
    async forwardsSeen(number) {
      await started(test).gateway.outbox.idle();
      return mailTo(department).filter((text) => text.includes(number));
    },
    async forwardOf(number) {
      const relay = started(test).relay!;
      const find = () => relay.to(department).find((mail) => (mail.parsed.subject ?? '').includes(number));
      await waitFor(() => find() !== undefined, { what: `the forward of ${number} to ${department}` });
      const forward = find()!;
      return {
        text: `${forward.parsed.subject ?? ''}\n${forward.parsed.text ?? ''}`,
        async answer(text) {
          const replyAddress = forward.parsed.replyTo!.value[0]!.address!;
          const message = await composeMessage({ from: department, to: replyAddress, subject: `Re: ${forward.parsed.subject ?? ''}`, text, inReplyTo: forward.parsed.messageId });
          const reply = await sendLetter({ port: started(test).smtpPort, from: department, to: [replyAddress], message });
          if (reply.data?.code !== 250) throw new Error(`the answer was refused: ${JSON.stringify(reply)}`);
        },
      };
    },
    async answersSeen() {
      await started(test).gateway.outbox.idle();
      return mailTo(citizen).filter((text) => OUTGOING_NUMBER.test(text));
    },
    async stop() {
      await test?.stop();
    },
  };
}

/** Slash commands signed as Slack signs them; RH reads its channel C0RH; Alice gets her DMs from the app. */
export function slackDriver({ config = {} }: DriverOptions = {}): ChannelDriver {
  const citizen = 'U0ALICE';
  const departmentChannel = 'C0RH';
  let world: SlackWorld | undefined;
  let last: Record<string, unknown> | undefined;
  const immediate: string[] = [];
  let answersPosted = 0;

  const textOf = (call: SlackCall) => `${String(call.args.text)}\n${JSON.stringify(call.args.blocks ?? [])}`;
  async function post(payload: Record<string, unknown>): Promise<ImmediateAnswer> {
    // One connection per request, as Slack's come: a connection kept alive across a restart of the
    // gateway would fail in this test's client, which may reuse it before it sees it closed.
    const response = await started(world).post('command', payload, { headers: { connection: 'close' } });
    const text = String(response.json?.text ?? '');
    return { accepted: /\d{4}-A-\d{6}/.test(text), text };
  }
  /**
   * Receipts and answers come ephemerally (the answer to the command that sent the letter), by
   * response_url, or posted to the person. The answer to a repeated command is not a receipt.
   */
  async function seenByCitizen(): Promise<string[]> {
    const setup = started(world);
    await setup.test.gateway.outbox.idle();
    return [...immediate, ...setup.slack.responses.map((response) => String(response.body.text ?? '')), ...postsTo(setup.slack, citizen).map(textOf)];
  }

  return {
    channel: 'slack',
    get test() {
      return started(world).test;
    },
    async start() {
      world = await startSlackWorld({ config });
    },
    async send({ department, subject, text }) {
      last = command({ slack: started(world).slack, text: `send ${department} ${subject}\n${text}`, user: citizen });
      const answer = await post(last);
      immediate.push(answer.text);
      return answer;
    },
    sendAgain() {
      // The very same command payload (same trigger_id), as a retried or replayed request.
      return post(started(last));
    },
    async receiptsSeen() {
      return (await seenByCitizen()).filter(isReceipt);
    },
    async forwardsSeen(number) {
      await started(world).test.gateway.outbox.idle();
      return postsTo(started(world).slack, departmentChannel).filter(isForwardOf(number)).map(textOf);
    },
    async forwardOf(number) {
      const setup = started(world);
      const forward = await forwardIn(setup, departmentChannel, number);
      return {
        text: textOf(forward),
        async answer(text) {
          answersPosted += 1;
          const reply = threadReply({ channel: departmentChannel, threadTs: String(forward.result!.ts), text, eventId: `Ev0CONTRACT${answersPosted}` });
          const response = await setup.post('event', reply);
          if (response.status !== 200) throw new Error(`the answer was refused with ${response.status}`);
        },
      };
    },
    async answersSeen() {
      return (await seenByCitizen()).filter((text) => OUTGOING_NUMBER.test(text));
    },
    async stop() {
      await world?.test.stop();
      await world?.slack.stop();
    },
  };
}

/** Commands in Amina's room with the bot; RH reads its room and answers in the forward's thread. */
export function matrixDriver({ config = {} }: DriverOptions = {}): ChannelDriver {
  let world: MatrixWorld | undefined;
  let last: string | undefined;

  const citizenNotices = () => {
    const { fake, citizenRoom, bot } = started(world);
    return fake.eventsIn(citizenRoom).filter((event) => event.sender === bot && event.type === 'm.room.message').map(bodyOf);
  };
  /** The bot's posts in RH's room that open a thread for a letter (its files and notices are in the thread). */
  const forwardsIn = (number: string) => {
    const { fake, rhRoom, bot } = started(world);
    return fake.eventsIn(rhRoom).filter((event) => event.sender === bot && event.type === 'm.room.message' && threadOf(event) === undefined && bodyOf(event).includes(number));
  };
  /** The bot answers each command in its thread, in the order the sync delivers them. */
  async function handled(): Promise<void> {
    const { fake, citizenRoom, citizen } = started(world);
    const help = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: { msgtype: 'm.text', body: '!courrier help' } });
    await started(world).waitForNotices(citizenRoom, 1, { thread: help });
  }

  return {
    channel: 'matrix',
    get test() {
      return started(world).gateway;
    },
    async start() {
      world = await startMatrixWorld({ config });
    },
    async send({ department, subject, text }) {
      const { fake, citizenRoom, citizen } = started(world);
      last = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: { msgtype: 'm.text', body: `!courrier send ${department} ${subject}\n${text}` } });
      const [notice] = await started(world).waitForNotices(citizenRoom, 1, { thread: last });
      const answer = bodyOf(notice!);
      return { accepted: /\d{4}-A-\d{6}/.test(answer), text: answer };
    },
    async sendAgain() {
      // A gappy sync serves the event again, as after a restart of the sync; the bot says nothing to a replay.
      started(world).fake.redeliver(started(last));
      await handled();
      return undefined;
    },
    async receiptsSeen() {
      await started(world).gateway.gateway.outbox.idle();
      return citizenNotices().filter(isReceipt);
    },
    async forwardsSeen(number) {
      await started(world).gateway.gateway.outbox.idle();
      return forwardsIn(number).map(bodyOf);
    },
    async forwardOf(number) {
      const { fake, rhRoom, agent } = started(world);
      const find = () => forwardsIn(number)[0];
      await waitFor(() => find() !== undefined, { what: `the forward of ${number} in ${rhRoom}` });
      const forward = find()!;
      // Recorded as posted, with its event id: only then is a reply in its thread an answer.
      await started(world).gateway.gateway.outbox.idle();
      return {
        text: bodyOf(forward),
        async answer(text) {
          fake.sendAs({ roomId: rhRoom, sender: agent, content: { msgtype: 'm.text', body: text, 'm.relates_to': { rel_type: 'm.thread', event_id: forward.event_id } } });
          await started(world).waitForNotices(rhRoom, 1, { thread: forward.event_id });
        },
      };
    },
    async answersSeen() {
      await started(world).gateway.gateway.outbox.idle();
      return citizenNotices().filter((text) => OUTGOING_NUMBER.test(text));
    },
    async stop() {
      await world?.stop();
    },
  };
}

export const channelDrivers: readonly { channel: string; driver: (options?: DriverOptions) => ChannelDriver }[] = [
  { channel: 'email', driver: emailDriver },
  { channel: 'slack', driver: slackDriver },
  { channel: 'matrix', driver: matrixDriver },
];
