/** Numbers are gapless and unique per year, even with many senders at once. */
import { describe, expect, it } from 'vitest';
import { letters } from '../../src/db/schema.js';
import { clockFrom } from '../helpers/clock.js';
import { gatewayPerTest, rowsOf } from '../helpers/gateway.js';
import { sendLetter } from '../helpers/smtp-client.js';

const start = gatewayPerTest();

const letter = (id: string) => `From: s${id}@citizen.test\r\nTo: rh@wasl.local\r\nSubject: Lettre ${id}\r\nMessage-ID: <${id}@citizen.test>\r\n\r\nCorps ${id}\r\n`;

describe('registration numbers under concurrent sessions', () => {
  it('are gapless and unique when 20 sessions send 5 letters each at the same time', async () => {
    const test = await start({ config: { receipts: { perSenderPerHour: 1000 } }, now: clockFrom('2026-03-14T09:00:00Z') });
    const sessions = Array.from({ length: 20 }, (_, session) =>
      (async () => {
        const replies = [];
        for (let index = 0; index < 5; index++) {
          const id = `${session}-${index}`;
          replies.push(await sendLetter({ port: test.smtpPort, from: `s${id}@citizen.test`, to: ['rh@wasl.local'], message: letter(id) }));
        }
        return replies;
      })(),
    );
    const replies = (await Promise.all(sessions)).flat();
    expect(replies.every((reply) => reply.data?.code === 250)).toBe(true);

    const numbers = replies.map((reply) => /\d{4}-A-\d{6}/.exec(reply.data!.text)![0]).sort();
    const expected = Array.from({ length: 100 }, (_, index) => `2026-A-${String(index + 1).padStart(6, '0')}`);
    expect(numbers).toEqual(expected);
    expect((await rowsOf(test.gateway, letters)).map((row) => row.number).sort()).toEqual(expected);
  });

  it('restart at 000001 with the new year on the office calendar', async () => {
    // A night on which every time-zone release has Casablanca at UTC+1 (2026c moved it to UTC+0 from 20 September 2026 on).
    let now = new Date('2025-12-31T22:00:00Z');
    const test = await start({ now: () => now });
    const first = await sendLetter({ port: test.smtpPort, from: 'a@citizen.test', to: ['rh@wasl.local'], message: letter('y1') });
    now = new Date('2025-12-31T23:30:00Z'); // 00:30 on 1 January 2026 in Casablanca
    const second = await sendLetter({ port: test.smtpPort, from: 'a@citizen.test', to: ['rh@wasl.local'], message: letter('y2') });
    const third = await sendLetter({ port: test.smtpPort, from: 'a@citizen.test', to: ['rh@wasl.local'], message: letter('y3') });
    expect([first, second, third].map((reply) => /\d{4}-A-\d{6}/.exec(reply.data!.text)![0])).toEqual(['2025-A-000001', '2026-A-000001', '2026-A-000002']);
  });
});
