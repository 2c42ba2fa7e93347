/**
 * A restarted gateway's Matrix bot syncs from scratch, and the homeserver serves each room's
 * recent events again (spec: "Syncing"), each with a new `unsigned.age` and whatever else the
 * serving homeserver adds. What was registered before stays registered once: no second number,
 * forward, receipt nor answer, and no file of a replayed event fetched again.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { deliveries } from '../../src/db/schema.js';
import { bodyOf, notices, startMatrixWorld, threadOf, type MatrixWorld } from '../helpers/fake-matrix.js';
import { rowsOf, waitFor } from '../helpers/gateway.js';

let world: MatrixWorld | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

const pdf = (text: string) => Buffer.from(`%PDF-1.4 ${text}\n%%EOF\n`);

describe('a gateway restarted while the homeserver still serves the recent events', () => {
  it('keeps one letter, one forward, one receipt and one answer delivery each, and fetches no file again', async () => {
    const logged: { msg: string; letter?: string }[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logged.push(JSON.parse(line) as { msg: string }) });
    world = await startMatrixWorld({ logger });
    const { fake, citizenRoom, citizen, rhRoom, agent } = world;
    const current = world;
    const sentDeliveries = () => rowsOf(current.gateway.gateway, deliveries);
    const downloads = () => fake.requests.filter((request) => request.path.includes('/media/download/')).length;
    const botNotices = () => [...notices({ fake, roomId: citizenRoom, sender: current.bot }), ...notices({ fake, roomId: rhRoom, sender: current.bot })];

    // Amina sends a signed request as a file whose caption is the command.
    const request = pdf('demande de mutation');
    const requestUrl = fake.uploadAs({ uploader: citizen, content: request, contentType: 'application/pdf', filename: 'demande.pdf' });
    const command = fake.sendAs({
      roomId: citizenRoom,
      sender: citizen,
      content: { msgtype: 'm.file', body: '!courrier send RH Mutation\nMa demande signée.', filename: 'demande.pdf', url: requestUrl, info: { mimetype: 'application/pdf', size: request.length } },
    });
    const [receipt] = await world.waitForNotices(citizenRoom, 1, { thread: command });
    const number = /\d{4}-A-\d{6}/.exec(bodyOf(receipt!))![0];
    const [forward] = (await world.waitForNotices(rhRoom, 2)).filter((event) => threadOf(event) === undefined);

    await waitFor(async () => (await sentDeliveries()).some((row) => row.externalId === forward!.event_id), { what: 'the forward recorded as posted' });

    // RH answers in the forward's thread with a file; the answer reaches Amina's thread.
    const decision = pdf('mutation accordée');
    const decisionUrl = fake.uploadAs({ uploader: agent, content: decision, contentType: 'application/pdf', filename: 'decision.pdf' });
    fake.sendAs({
      roomId: rhRoom,
      sender: agent,
      content: {
        msgtype: 'm.file',
        body: 'Votre mutation est accordée.',
        filename: 'decision.pdf',
        url: decisionUrl,
        info: { mimetype: 'application/pdf', size: decision.length },
        'm.relates_to': { rel_type: 'm.thread', event_id: forward!.event_id },
      },
    });
    // Forward by email and to the room, receipt, answer, and the word in RH's thread that it arrived.
    await waitFor(
      async () => {
        const rows = await sentDeliveries();
        return rows.length === 5 && rows.every((row) => row.status === 'sent');
      },
      { what: 'five deliveries sent' },
    );
    const answerNumber = (await current.gateway.gateway.port.listLetters({})).find((letter) => letter.direction === 'outgoing')!.number;
    expect((await current.gateway.gateway.port.findLetter(answerNumber))).toMatchObject({ answers: number });
    const before = { letters: 2, deliveries: 5, notices: botNotices().length, mails: world.gateway.relay!.messages.length, downloads: downloads() };
    expect(before.downloads).toBe(2);

    fake.serveChanged({ ageMs: 3_600_000, fields: { 'org.example.served_by': 'replica-2' } });
    const linesBeforeRestart = logged.length;
    await world.gateway.restart();
    // Each replayed letter is either recognised or (the bug) registered again.
    const recognised = () => logged.slice(linesBeforeRestart).filter((line) => line.msg === 'letter already registered').length;
    const registeredAgain = async () => (await current.gateway.gateway.port.listLetters({})).length - before.letters;
    await waitFor(async () => recognised() + (await registeredAgain()) >= 2, { what: 'the restarted bot judging the command and the answer again' });
    const help = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: { msgtype: 'm.text', body: '!courrier help' } });
    await world.waitForNotices(citizenRoom, 1, { thread: help });
    await world.gateway.gateway.outbox.idle();

    expect((await world.gateway.gateway.port.listLetters({})).map((letter) => letter.number).sort()).toEqual([number, answerNumber].sort());
    expect(await sentDeliveries()).toHaveLength(before.deliveries);
    expect(botNotices()).toHaveLength(before.notices + 1);
    expect(world.gateway.relay!.messages).toHaveLength(before.mails);
    expect(downloads()).toBe(before.downloads);
  });
});
