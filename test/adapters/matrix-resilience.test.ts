/**
 * The Matrix bot under the conditions a real one meets: events delivered twice, gateway
 * restarts, a homeserver that goes away or rate limits, other bots, its own echo, invitations
 * from strangers, and rooms with a past.
 */
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { deliveries } from '../../src/db/schema.js';
import { bodyOf, notices, SERVER_NAME, startMatrixWorld, threadOf, type MatrixWorld } from '../helpers/fake-matrix.js';
import { waitFor, readRegister } from '../helpers/gateway.js';
import { heldDisk } from '../helpers/held-disk.js';
import { composeMessage } from '../helpers/messages.js';
import { sendLetter } from '../helpers/smtp-client.js';

let world: MatrixWorld | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

const text = (body: string, thread?: string) => ({ msgtype: 'm.text', body, ...(thread ? { 'm.relates_to': { rel_type: 'm.thread', event_id: thread } } : {}) });

async function emailToRh(current: MatrixWorld, subject: string): Promise<string> {
  const message = await composeMessage({ from: 'karim@citizen.test', to: 'rh@wasl.local', subject, text: 'Bonjour.' });
  const reply = await sendLetter({ port: current.gateway.smtpPort, from: 'karim@citizen.test', to: ['rh@wasl.local'], message });
  return /\d{4}-A-\d{6}/.exec(reply.data!.text)![0];
}

async function matrixForwards(current: MatrixWorld) {
  return (await readRegister(current.gateway.gateway, (db) => db.select().from(deliveries).where(eq(deliveries.channel, 'matrix')))).filter((row) => row.kind === 'forward');
}

describe('an event the bot sees twice', () => {
  it('is answered once, when the homeserver repeats it and when the restarted gateway reads it again', async () => {
    const logged: { msg: string; letter?: string }[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logged.push(JSON.parse(line) as { msg: string }) });
    world = await startMatrixWorld({ logger });
    const { fake, citizenRoom, citizen } = world;
    const current = world;
    const scan = fake.uploadAs({ uploader: citizen, content: Buffer.from('scan'), contentType: 'image/png', filename: 'scan.png' });
    const root = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: { msgtype: 'm.image', body: 'scan.png', url: scan, info: { mimetype: 'image/png', size: 4 } } });
    const command = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: text('!courrier send RH Dossier\nMon dossier.', root) });
    const [receipt] = await world.waitForNotices(citizenRoom, 1, { thread: root });
    const number = /\d{4}-A-\d{6}/.exec(bodyOf(receipt!))![0];
    const status = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: text(`!courrier status ${number}`) });
    await world.waitForNotices(citizenRoom, 1, { thread: status });

    fake.redeliver(command);
    fake.redeliver(status);
    const afterRepeat = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: text('!courrier help') });
    await world.waitForNotices(citizenRoom, 1, { thread: afterRepeat });

    // The command reads its thread for files; the register knows the event before that read.
    const threadReads = () => fake.requests.filter((request) => request.path.includes(`/relations/${encodeURIComponent(root)}`)).length;
    const readsBefore = threadReads();
    const linesBefore = logged.length;
    await world.gateway.restart();
    await waitFor(() => logged.slice(linesBefore).some((line) => line.msg === 'letter already registered' && line.letter === number), { what: 'the restarted bot reading the command again' });
    const afterRestart = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: text('!courrier help') });
    await world.waitForNotices(citizenRoom, 1, { thread: afterRestart });
    await world.gateway.gateway.outbox.idle();

    const answers = notices({ fake, roomId: citizenRoom, sender: world.bot });
    expect(answers.filter((event) => threadOf(event) === root)).toHaveLength(1);
    expect(answers.filter((event) => threadOf(event) === status)).toHaveLength(1);
    expect(answers.filter((event) => threadOf(event) === afterRepeat)).toHaveLength(1);
    expect(answers).toHaveLength(4);
    expect((await current.gateway.gateway.port.listLetters({}))).toHaveLength(1);
    expect(threadReads()).toBe(readsBefore);
  });

  it('a letter sent while the gateway was stopped is registered when it starts again', async () => {
    world = await startMatrixWorld();
    const { fake, citizenRoom, citizen } = world;
    await world.gateway.stopGateway();
    const command = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: text('!courrier send RH Pendant l’arrêt\nÉcrit pendant que le bureau était fermé.') });
    await world.gateway.restart();

    const [receipt] = await world.waitForNotices(citizenRoom, 1, { thread: command });
    expect(bodyOf(receipt!)).toMatch(/\d{4}-A-\d{6}/);
  });
});

describe('a burst of letters', () => {
  it('sent faster than the bot syncs is registered whole, though the homeserver cuts timelines at 10 events by default', async () => {
    world = await startMatrixWorld();
    const { fake, citizenRoom, citizen } = world;
    const current = world;
    for (let index = 1; index <= 15; index += 1) {
      fake.sendAs({ roomId: citizenRoom, sender: citizen, content: text(`!courrier send RH Lettre ${index}\nTexte ${index}.`) });
    }
    await waitFor(async () => (await current.gateway.gateway.port.listLetters({})).length === 15, { what: '15 letters registered' });
    expect(new Set((await current.gateway.gateway.port.listLetters({})).map((letter) => letter.subject)).size).toBe(15);
  });
});

describe('a letter the disk does not confirm at first', () => {
  it('is registered once, and its sender gets one answer with its number once the disk confirms it', async () => {
    const disk = heldDisk();
    const logged: { msg: string }[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logged.push(JSON.parse(line) as { msg: string }) });
    world = await startMatrixWorld({ flushToDisk: disk.flushToDisk, logger });
    const { fake, citizenRoom, citizen } = world;
    const command = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: text('!courrier send RH Dossier\nMon dossier.') });
    await waitFor(() => disk.flushes.length === 1, { what: "the letter's flush" });
    disk.failWithIoError(0);
    disk.letGo();

    // The bot tries the same event again: the register knows it, so no second letter and no refusal.
    const [receipt] = await world.waitForNotices(citizenRoom, 1, { thread: command });
    const number = /\d{4}-A-\d{6}/.exec(bodyOf(receipt!))![0];
    await waitFor(() => logged.some((line) => line.msg === 'letter already registered'), { what: 'the bot trying the event again' });
    await world.gateway.gateway.outbox.idle();
    expect((await world.gateway.gateway.port.listLetters({})).map((letter) => letter.number)).toEqual([number]);
    expect(notices({ fake, roomId: citizenRoom, sender: world.bot })).toHaveLength(1);
  });
});

describe('a homeserver that is down for a while', () => {
  it('gets the department’s letter once it is back, posted once, and the bot hears commands again', async () => {
    world = await startMatrixWorld({ config: { outbox: { maxAttempts: 50 } } });
    const { fake, rhRoom, citizenRoom, citizen } = world;
    const current = world;
    await fake.stop();
    const number = await emailToRh(world, 'Pendant la panne');
    await waitFor(async () => (await matrixForwards(current)).some((row) => row.attempts >= 1 && row.status === 'pending' && row.lastErrorCode === 'matrix.unreachable'), {
      what: 'a failed attempt to post the forward',
    });
    await fake.start();

    const [forward] = await world.waitForNotices(rhRoom, 1, { timeoutMs: 20_000 });
    expect(bodyOf(forward!)).toContain(number);
    const command = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: text('!courrier send RH Après la panne\nLe serveur est revenu.') });
    await world.waitForNotices(citizenRoom, 1, { thread: command, timeoutMs: 20_000 });
    await world.gateway.gateway.outbox.idle();
    expect(notices({ fake, roomId: rhRoom, sender: world.bot }).filter((event) => bodyOf(event).includes(number))).toHaveLength(1);
    expect((await matrixForwards(current)).find((row) => row.externalId === forward!.event_id)?.status).toBe('sent');
  });

  it('when the gateway starts lets it start, and the bot catches up once the homeserver is back', async () => {
    world = await startMatrixWorld({ config: { outbox: { maxAttempts: 50 } } });
    const { fake, rhRoom, citizenRoom, citizen } = world;
    const current = world;
    await world.gateway.stopGateway();
    await fake.stop();
    await world.gateway.restart();
    const number = await emailToRh(world, 'Au démarrage');
    await waitFor(async () => (await matrixForwards(current)).some((row) => row.attempts >= 1 && row.lastErrorCode === 'matrix.unreachable'), { what: 'a failed attempt to post the forward' });
    await fake.start();
    const command = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: text('!courrier send RH Après le démarrage\nBonjour.') });

    const [forward] = await world.waitForNotices(rhRoom, 1, { timeoutMs: 20_000 });
    expect(bodyOf(forward!)).toContain(number);
    await world.waitForNotices(citizenRoom, 1, { thread: command, timeoutMs: 20_000 });
  });

  it('that rate limits the bot has the send retried no sooner than it asked', async () => {
    world = await startMatrixWorld();
    const { fake, rhRoom } = world;
    const current = world;
    fake.refuse({
      match: (request) => request.method === 'PUT' && request.path.includes(`/rooms/${encodeURIComponent(rhRoom)}/send/`),
      status: 429,
      body: { errcode: 'M_LIMIT_EXCEEDED', error: 'Too many requests', retry_after_ms: 1500 },
    });
    const number = await emailToRh(world, 'Limité');

    await waitFor(async () => (await matrixForwards(current)).some((row) => row.status === 'pending' && row.lastErrorCode === 'matrix.rate_limited'), { what: 'the rate-limited attempt' });
    const postponed = (await matrixForwards(current))[0]!;
    expect(postponed.nextAttemptAt.getTime() - postponed.updatedAt.getTime()).toBeGreaterThanOrEqual(1500);
    const [forward] = await world.waitForNotices(rhRoom, 1);
    expect(bodyOf(forward!)).toContain(number);
  });
});

describe('a homeserver that stops answering', () => {
  it('holds back only the Matrix deliveries: the same letters’ forwards and receipts by email go out meanwhile', async () => {
    // One slot a channel: a single hanging Matrix send would hold every delivery if the slots were shared.
    world = await startMatrixWorld({ config: { outbox: { concurrency: 1 } } });
    const current = world;
    const postsToRh = (request: { method: string; path: string }) =>
      request.method === 'PUT' && decodeURIComponent(request.path).includes(`/rooms/${current.rhRoom}/send/`);
    const hanging = world.fake.hold(postsToRh);
    const numbers: string[] = [];
    for (const subject of ['Congé', 'Attestation', 'Mutation']) numbers.push(await emailToRh(world, subject));

    const relay = world.gateway.relay!;
    await relay.waitForMessages(3, { to: 'rh-team@dept.test' });
    await relay.waitForMessages(3, { to: 'karim@citizen.test' });
    expect(hanging.held()).toBeGreaterThan(0);
    expect(notices({ fake: world.fake, roomId: world.rhRoom, sender: world.bot })).toHaveLength(0);

    hanging.release();
    const posted = await world.waitForNotices(world.rhRoom, 3);
    for (const number of numbers) expect(posted.filter((event) => bodyOf(event).includes(number))).toHaveLength(1);
  });
});

describe('what the bot does not act on', () => {
  it('its own events and other bots’ notices, even when they look like commands', async () => {
    world = await startMatrixWorld();
    const { fake, citizenRoom, citizen } = world;
    fake.sendAs({ roomId: citizenRoom, sender: `@notifier:${SERVER_NAME}`, content: { msgtype: 'm.notice', body: '!courrier help' } });
    fake.sendAs({ roomId: citizenRoom, sender: world.bot, content: text('!courrier send RH Écho\nDe la part du bot lui-même.') });
    const human = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: text('!courrier help') });

    await world.waitForNotices(citizenRoom, 1, { thread: human });
    await world.gateway.gateway.outbox.idle();
    const fromBot = notices({ fake, roomId: citizenRoom, sender: world.bot }).filter((event) => event.content.msgtype === 'm.notice');
    expect(fromBot.map((event) => threadOf(event))).toEqual([human]);
    expect((await world.gateway.gateway.port.listLetters({}))).toEqual([]);
  });

  it('encrypted messages it cannot read, which it says once in the room', async () => {
    world = await startMatrixWorld();
    const { fake, citizenRoom, citizen } = world;
    const encrypted = { algorithm: 'm.megolm.v1.aes-sha2', ciphertext: 'AwgAEpABm6fQ', session_id: 'X0s3Ss10n', sender_key: 'k3y', device_id: 'ELEMENT' };
    fake.sendAs({ roomId: citizenRoom, sender: citizen, type: 'm.room.encrypted', content: encrypted });
    fake.sendAs({ roomId: citizenRoom, sender: citizen, type: 'm.room.encrypted', content: { ...encrypted, ciphertext: 'AwgAEpABm6fR' } });
    const marker = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: text('!courrier help') });

    await world.waitForNotices(citizenRoom, 2);
    const fromBot = notices({ fake, roomId: citizenRoom, sender: world.bot });
    expect(fromBot.filter((event) => bodyOf(event).includes('chiffré'))).toHaveLength(1);
    expect(fromBot.filter((event) => threadOf(event) === marker)).toHaveLength(1);
  });

  it('invitations from people or servers that are not allowed', async () => {
    world = await startMatrixWorld({ config: { adapters: { matrix: { allowedInviters: [`@amina:${SERVER_NAME}`, 'partner.test'] } } } });
    const { fake } = world;
    // The RH room's invitation came from someone not listed: a department's own room is always joined.
    expect(fake.membership(world.rhRoom, world.bot)).toBe('join');
    const strangerRoom = fake.createRoom({ creator: '@stranger:elsewhere.test' });
    fake.invite({ roomId: strangerRoom, inviter: '@stranger:elsewhere.test', invitee: world.bot });
    const partnerRoom = fake.createRoom({ creator: '@clerk:partner.test' });
    fake.invite({ roomId: partnerRoom, inviter: '@clerk:partner.test', invitee: world.bot });

    await waitFor(() => fake.membership(partnerRoom, world!.bot) === 'join', { what: 'joining the partner’s room' });
    expect(fake.membership(strangerRoom, world.bot)).toBe('invite');
  });

  it('what was said in a room before it joined', async () => {
    world = await startMatrixWorld();
    const { fake, citizen } = world;
    const room = fake.createRoom({ creator: citizen });
    fake.sendAs({ roomId: room, sender: citizen, content: text('!courrier send RH Ancien\nÉcrit avant l’arrivée du bot.') });
    fake.invite({ roomId: room, inviter: citizen, invitee: world.bot });
    await waitFor(() => fake.membership(room, world!.bot) === 'join', { what: 'the bot joining' });
    const marker = fake.sendAs({ roomId: room, sender: citizen, content: text('!courrier help') });

    await world.waitForNotices(room, 1, { thread: marker });
    expect(notices({ fake, roomId: room, sender: world.bot })).toHaveLength(1);
    expect((await world.gateway.gateway.port.listLetters({}))).toEqual([]);
  });
});
