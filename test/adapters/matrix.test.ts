/**
 * The Matrix channel end to end: the real matrix-js-sdk inside a real gateway, talking to a local
 * homeserver; email legs go through the gateway's real SMTP server and a real SMTP sink.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { composeMessage } from '../helpers/messages.js';
import { sendLetter } from '../helpers/smtp-client.js';
import { bodyOf, notices, startMatrixWorld, threadOf, type MatrixWorld } from '../helpers/fake-matrix.js';
import { waitFor } from '../helpers/gateway.js';

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
    const letter = world.gateway.gateway.port.findLetter(number!)!;
    expect(letter).toMatchObject({ channel: 'matrix', sender: { id: world.citizen, displayName: 'Amina' }, subject: 'Demande de congé', departments: ['RH'], direction: 'incoming' });
    expect(bodyOf(receipt!)).toContain(letter.receiptUrl);
    const page = await fetch(letter.receiptUrl);
    expect(page.status).toBe(200);
  });
});
