/**
 * The Matrix channel end to end: the real matrix-js-sdk inside a real gateway, talking to a local
 * homeserver; email legs go through the gateway's real SMTP server and a real SMTP sink.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { composeMessage } from '../helpers/messages.js';
import { sendLetter } from '../helpers/smtp-client.js';
import { bodyOf, notices, startMatrixWorld, threadOf, type MatrixWorld } from '../helpers/fake-matrix.js';
import { adapterDefinitions } from '../../src/channels/registry.js';
import { parseConfig } from '../../src/config/config.load.js';
import { deliveries } from '../../src/db/schema.js';
import { startTestGateway, waitFor, rowsOf } from '../helpers/gateway.js';

let world: MatrixWorld | undefined;
afterEach(async () => {
  await world?.stop();
  world = undefined;
});

describe('a letter sent from Matrix', () => {
  it('is registered, and the bot answers in the thread of the command with the number and the receipt link', async () => {
    world = await startMatrixWorld();
    const { fake, citizenRoom } = world;
    const command = fake.sendAs({ roomId: citizenRoom, sender: world.citizen, content: { msgtype: 'm.text', body: '!courrier send RH Demande de congé\nBonjour,\nje demande un congé du 3 au 7 mars.' } });

    const [receipt] = await world.waitForNotices(citizenRoom, 1);
    expect(threadOf(receipt!)).toBe(command);
    const number = /\d{4}-A-\d{6}/.exec(bodyOf(receipt!))?.[0];
    expect(number).toBeDefined();
    const letter = (await world.gateway.gateway.port.findLetter(number!))!;
    expect(letter).toMatchObject({ channel: 'matrix', sender: { id: world.citizen, displayName: 'Amina' }, subject: 'Demande de congé', departments: ['RH'], direction: 'incoming' });
    expect(bodyOf(receipt!)).toContain(letter.receiptUrl);
    const page = await fetch(letter.receiptUrl);
    expect(page.status).toBe(200);
  });
});

describe('files sent with a letter from Matrix', () => {
  it('posted first, with the command written in their thread, become the letter’s attachments and reach the department’s room', async () => {
    world = await startMatrixWorld();
    const { fake, citizenRoom, citizen, rhRoom } = world;
    const pdf = Buffer.from('%PDF-1.4 certificat de travail\n%%EOF\n');
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const pdfUrl = fake.uploadAs({ uploader: citizen, content: pdf, contentType: 'application/pdf', filename: 'certificat.pdf' });
    const pngUrl = fake.uploadAs({ uploader: citizen, content: png, contentType: 'image/png', filename: 'scan.png' });
    const first = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: { msgtype: 'm.file', body: 'certificat.pdf', url: pdfUrl, info: { mimetype: 'application/pdf', size: pdf.length } } });
    fake.sendAs({ roomId: citizenRoom, sender: citizen, content: { msgtype: 'm.image', body: 'scan.png', url: pngUrl, info: { mimetype: 'image/png', size: png.length }, 'm.relates_to': { rel_type: 'm.thread', event_id: first } } });
    fake.sendAs({
      roomId: citizenRoom,
      sender: citizen,
      content: { msgtype: 'm.text', body: '!courrier send RH Pièces de mon dossier\nVoici les pièces demandées.', 'm.relates_to': { rel_type: 'm.thread', event_id: first } },
    });

    const [receipt] = await world.waitForNotices(citizenRoom, 1, { thread: first });
    const number = /\d{4}-A-\d{6}/.exec(bodyOf(receipt!))![0];

    const posted = await world.waitForNotices(rhRoom, 3);
    const forward = posted[0]!;
    expect(threadOf(forward)).toBeUndefined();
    expect(bodyOf(forward)).toContain(number);
    expect(bodyOf(forward)).toContain('Pièces de mon dossier');
    expect(bodyOf(forward)).toContain('Voici les pièces demandées.');
    expect(bodyOf(forward)).toContain('Amina');
    expect(bodyOf(forward)).toContain((await world.gateway.gateway.port.findLetter(number))!.receiptUrl);
    const files = posted.slice(1);
    expect(files.map((event) => threadOf(event))).toEqual([forward.event_id, forward.event_id]);
    expect(files.map((event) => [event.content.msgtype, event.content.body])).toEqual([
      ['m.file', 'certificat.pdf'],
      ['m.image', 'scan.png'],
    ]);
    expect(fake.media(String(files[0]!.content.url))!.content.equals(pdf)).toBe(true);
    expect(fake.media(String(files[1]!.content.url))!.content.equals(png)).toBe(true);
  });

  it('a file whose caption is the command is the letter’s attachment', async () => {
    world = await startMatrixWorld();
    const { fake, citizenRoom, citizen } = world;
    const pdf = Buffer.from('%PDF-1.4 demande\n%%EOF\n');
    const url = fake.uploadAs({ uploader: citizen, content: pdf, contentType: 'application/pdf', filename: 'demande.pdf' });
    const event = fake.sendAs({
      roomId: citizenRoom,
      sender: citizen,
      content: { msgtype: 'm.file', body: '!courrier send URB Permis de construire\nMa demande signée.', filename: 'demande.pdf', url, info: { mimetype: 'application/pdf', size: pdf.length } },
    });

    const [receipt] = await world.waitForNotices(citizenRoom, 1, { thread: event });
    const number = /\d{4}-A-\d{6}/.exec(bodyOf(receipt!))![0];
    const [forward] = await world.gateway.relay!.waitForMessages(1, { to: 'urb-team@dept.test' });
    expect(forward!.parsed.subject).toContain(number);
    expect(forward!.parsed.text).toContain('Ma demande signée.');
    expect(forward!.parsed.attachments.map((attachment) => [attachment.filename, attachment.content.equals(pdf)])).toEqual([['demande.pdf', true]]);
  });
});

describe('a department answering in Matrix', () => {
  it('sees an email letter in its room, replies in the thread, and the sender gets the answer by email', async () => {
    world = await startMatrixWorld();
    const { fake, rhRoom, agent } = world;
    const test = world.gateway;
    const message = await composeMessage({ from: 'Karim <karim@citizen.test>', to: 'rh@wasl.local', subject: 'Attestation de salaire', text: 'Bonjour, il me faut une attestation.', messageId: '<karim-1@citizen.test>' });
    const reply = await sendLetter({ port: test.smtpPort, from: 'karim@citizen.test', to: ['rh@wasl.local'], message });
    const number = /\d{4}-A-\d{6}/.exec(reply.data!.text)![0];

    const [forward] = await world.waitForNotices(rhRoom, 1);
    expect(bodyOf(forward!)).toContain(number);
    expect(bodyOf(forward!)).toContain('Attestation de salaire');
    expect(bodyOf(forward!)).toContain('karim@citizen.test');
    await test.relay!.waitForMessages(1, { to: 'karim@citizen.test' });

    fake.sendAs({ roomId: rhRoom, sender: agent, content: { msgtype: 'm.text', body: 'Votre attestation est prête, passez la retirer.', 'm.relates_to': { rel_type: 'm.thread', event_id: forward!.event_id } } });

    const [, answer] = await test.relay!.waitForMessages(2, { to: 'karim@citizen.test' });
    const answerNumber = /\d{4}-D-\d{6}/.exec(answer!.parsed.subject ?? '')![0];
    expect(answer!.parsed.text).toContain('Votre attestation est prête, passez la retirer.');
    expect(answer!.parsed.inReplyTo).toBe('<karim-1@citizen.test>');
    expect((await test.gateway.port.findLetter(answerNumber))).toMatchObject({ direction: 'outgoing', answers: number, channel: 'matrix', sender: { id: agent } });
    expect((await test.gateway.port.findLetter(number))!.status).toBe('answered');

    // The thread shows that the answer reached the sender.
    const [delivered] = await world.waitForNotices(rhRoom, 1, { thread: forward!.event_id });
    expect(bodyOf(delivered!)).toContain(answerNumber);
  });

  it('a reply in another room naming a forward as its thread is not an answer to that letter', async () => {
    world = await startMatrixWorld();
    const { fake, rhRoom, citizenRoom, citizen } = world;
    const test = world.gateway;
    const message = await composeMessage({ from: 'karim@citizen.test', to: 'rh@wasl.local', subject: 'Attestation', text: 'Bonjour.' });
    const reply = await sendLetter({ port: test.smtpPort, from: 'karim@citizen.test', to: ['rh@wasl.local'], message });
    const number = /\d{4}-A-\d{6}/.exec(reply.data!.text)![0];
    const [forward] = await world.waitForNotices(rhRoom, 1);
    await waitFor(async () => (await rowsOf(test.gateway, deliveries)).some((row) => row.externalId === forward!.event_id), { what: 'the forward recorded as posted' });

    // Amina is not in RH's room, but a relation may name any event id.
    fake.sendAs({ roomId: citizenRoom, sender: citizen, content: { msgtype: 'm.text', body: 'Refusé. Signé : le service RH', 'm.relates_to': { rel_type: 'm.thread', event_id: forward!.event_id } } });
    const help = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: { msgtype: 'm.text', body: '!courrier help' } });
    await world.waitForNotices(citizenRoom, 1, { thread: help });
    await test.gateway.outbox.idle();

    expect((await test.gateway.port.listLetters({})).map((letter) => letter.number)).toEqual([number]);
    expect((await test.gateway.port.findLetter(number))!.status).not.toBe('answered');
    expect(test.relay!.to('karim@citizen.test').map((mail) => mail.parsed.text ?? '').join('\n')).not.toContain('Refusé');
    expect(notices({ fake, roomId: citizenRoom, sender: world.bot })).toHaveLength(1);
  });

  it('a reply in a thread that is not a forwarded letter’s is only conversation', async () => {
    world = await startMatrixWorld();
    const { fake, rhRoom, agent } = world;
    const chat = fake.sendAs({ roomId: rhRoom, sender: agent, content: { msgtype: 'm.text', body: 'Réunion à 10 h ?' } });
    fake.sendAs({ roomId: rhRoom, sender: agent, content: { msgtype: 'm.text', body: 'Oui.', 'm.relates_to': { rel_type: 'm.thread', event_id: chat } } });
    const help = fake.sendAs({ roomId: rhRoom, sender: agent, content: { msgtype: 'm.text', body: '!courrier help' } });

    await world.waitForNotices(rhRoom, 1, { thread: help });
    expect(notices({ fake, roomId: rhRoom, sender: world.bot })).toHaveLength(1);
    expect((await world.gateway.gateway.port.listLetters({}))).toEqual([]);
  });
});

describe('an answer by email to a letter sent from Matrix', () => {
  it('is posted in the thread of the command that sent the letter', async () => {
    world = await startMatrixWorld();
    const { fake, citizenRoom, citizen } = world;
    const test = world.gateway;
    const command = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: { msgtype: 'm.text', body: '!courrier send URB Trottoir abîmé\nLe trottoir de la rue 12 est cassé.' } });
    const [receipt] = await world.waitForNotices(citizenRoom, 1, { thread: command });
    const number = /\d{4}-A-\d{6}/.exec(bodyOf(receipt!))![0];

    const [forward] = await test.relay!.waitForMessages(1, { to: 'urb-team@dept.test' });
    expect(forward!.parsed.text).toContain('Le trottoir de la rue 12 est cassé.');
    const replyAddress = forward!.parsed.replyTo!.value[0]!.address!;
    const answer = await composeMessage({ from: 'urb-team@dept.test', to: replyAddress, subject: `Re: ${forward!.parsed.subject}`, text: 'Une équipe passe lundi.', inReplyTo: forward!.parsed.messageId });
    const reply = await sendLetter({ port: test.smtpPort, from: 'urb-team@dept.test', to: [replyAddress], message: answer });
    const answerNumber = /\d{4}-D-\d{6}/.exec(reply.data!.text)![0];

    const inThread = await world.waitForNotices(citizenRoom, 2, { thread: command });
    expect(bodyOf(inThread[1]!)).toContain('Une équipe passe lundi.');
    expect(bodyOf(inThread[1]!)).toContain(answerNumber);
    expect(bodyOf(inThread[1]!)).toContain(number);
  });
});

describe('the bot refuses and informs', () => {
  it('a letter for an unknown department is refused in the thread and nothing is registered', async () => {
    world = await startMatrixWorld();
    const { fake, citizenRoom, citizen } = world;
    const command = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: { msgtype: 'm.text', body: '!courrier send COMPTA Facture\nMa facture.' } });
    const [refusal] = await world.waitForNotices(citizenRoom, 1, { thread: command });
    expect(bodyOf(refusal!)).toContain('COMPTA');
    expect(bodyOf(refusal!)).toContain('RH (Ressources humaines)');
    expect((await world.gateway.gateway.port.listLetters({}))).toEqual([]);
  });

  it('a letter with neither text nor file is refused with a word on how to write it', async () => {
    world = await startMatrixWorld();
    const { fake, citizenRoom, citizen } = world;
    const command = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: { msgtype: 'm.text', body: '!courrier send RH Objet seul' } });
    const [refusal] = await world.waitForNotices(citizenRoom, 1, { thread: command });
    expect(bodyOf(refusal!)).toContain('Le courrier est vide');
    expect((await world.gateway.gateway.port.listLetters({}))).toEqual([]);
  });

  it('status shows the sender the subject and receipt link, and anyone else only where the letter stands', async () => {
    world = await startMatrixWorld();
    const { fake, citizenRoom, citizen, rhRoom, agent } = world;
    const command = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: { msgtype: 'm.text', body: '!courrier send RH Mutation\nJe demande ma mutation.' } });
    const [receipt] = await world.waitForNotices(citizenRoom, 1, { thread: command });
    const number = /\d{4}-A-\d{6}/.exec(bodyOf(receipt!))![0];
    const receiptUrl = (await world.gateway.gateway.port.findLetter(number))!.receiptUrl;

    const mine = fake.sendAs({ roomId: citizenRoom, sender: citizen, content: { msgtype: 'm.text', body: `!courrier status ${number.toLowerCase()}` } });
    const theirs = fake.sendAs({ roomId: rhRoom, sender: agent, content: { msgtype: 'm.text', body: `!courrier status ${number}` } });
    const [toSender] = await world.waitForNotices(citizenRoom, 1, { thread: mine });
    const [toOther] = await world.waitForNotices(rhRoom, 1, { thread: theirs });
    expect(bodyOf(toSender!)).toContain(number);
    expect(bodyOf(toSender!)).toContain('Mutation');
    expect(bodyOf(toSender!)).toContain(receiptUrl);
    expect(bodyOf(toOther!)).toContain(number);
    expect(bodyOf(toOther!)).not.toContain('Mutation');
    expect(bodyOf(toOther!)).not.toContain(receiptUrl);
  });
});

describe('the Matrix channel’s settings', () => {
  it('without a bot account the channel is off, and the gateway says which settings are missing', async () => {
    const test = await startTestGateway({ env: { WASL_MATRIX_HOMESERVER_URL: 'http://127.0.0.1:9' } });
    try {
      expect(test.gateway.adapters.has('matrix')).toBe(false);
      expect(test.gateway.channelsOff.get('matrix')).toBe('no Matrix bot account configured (missing WASL_MATRIX_USER_ID, WASL_MATRIX_ACCESS_TOKEN)');
    } finally {
      await test.stop();
    }
  });

  it('a bot user id that is not a Matrix id is refused at start, naming the key', () => {
    expect(() => parseConfig({ raw: {}, env: { WASL_MATRIX_USER_ID: 'courrier' }, adapters: adapterDefinitions })).toThrow(/adapters\.matrix\.userId: a Matrix user id/);
  });
});
