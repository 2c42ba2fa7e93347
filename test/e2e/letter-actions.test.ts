/**
 * Working a letter through the gateway's port, as every channel does: each step the letter's state
 * allows is recorded with who took it, and each it refuses is refused with its code and a sentence
 * naming the letter, with nothing recorded.
 */
import { and, eq } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import type { ChannelAddress } from '../../src/channels/port.js';
import { letterEvents, letters } from '../../src/db/schema.js';
import { WaslError } from '../../src/errors.js';
import { TEXT_LIMITS, parseEvent } from '../../src/lifecycle/letter-events.js';
import { clockFrom } from '../helpers/clock.js';
import { gatewayPerTest, readRegister, rowsOf, type TestGateway } from '../helpers/gateway.js';
import { citizenEmail } from '../helpers/messages.js';

const start = gatewayPerTest();
const clerk: ChannelAddress = { channel: 'email', id: 'clerk@wasl.local', displayName: 'Nadia' };

const citizenLetter = (externalId: string) =>
  citizenEmail({ externalId, receivedAt: new Date('2026-12-04T09:00:00Z'), sender: 'karim@citizen.test', senderName: 'Karim', to: ['RH'], subject: 'Demande de mutation', text: 'Bonjour, je demande ma mutation.' });

async function refusalOf(step: Promise<unknown>): Promise<{ code: string; message: string }> {
  const caught: unknown = await step.then(
    () => undefined,
    (error: unknown) => error,
  );
  if (!(caught instanceof WaslError)) throw new Error(`expected a refusal, got ${String(caught)}`);
  return { code: caught.code, message: caught.message };
}

/** The events of one letter as stored: type, actor, department and detail. */
async function storedEvents(test: TestGateway, number: string) {
  const [letter] = await readRegister(test.gateway, (db) => db.select().from(letters).where(eq(letters.number, number)));
  const rows = await readRegister(test.gateway, (db) => db.select().from(letterEvents).where(eq(letterEvents.letterId, letter!.id)).orderBy(letterEvents.id));
  return rows.map((row) => ({ type: row.type, actor: row.actorId, department: row.departmentCode, detail: row.detail === null ? null : (JSON.parse(row.detail) as unknown) }));
}

describe('a letter worked through the port', () => {
  it('goes from acknowledgement to transfer, close and reopening, each step recorded with who took it, and refuses the steps its state forbids', async () => {
    const test = await start({ now: clockFrom('2026-12-04T10:00:00Z') });
    const { number } = await test.gateway.port.accept(citizenLetter('<work-1@citizen.test>'));
    expect(number).toBe('2026-A-000001');
    await test.gateway.outbox.idle();
    const { port } = test.gateway;

    expect(await port.recordAction({ number, actor: clerk, action: 'acknowledged' })).toMatchObject({ status: 'acknowledged' });
    expect(await refusalOf(port.recordAction({ number, actor: clerk, action: 'acknowledged' }))).toEqual({ code: 'letter.already_acknowledged', message: '2026-A-000001 is acknowledged already.' });
    expect(await port.recordAction({ number, actor: clerk, action: 'assigned', assignee: 'person-7' })).toMatchObject({ status: 'acknowledged' });
    await port.recordAction({ number, actor: clerk, action: 'note_added', text: '  Appelé le demandeur.  ' });

    expect(await port.recordAction({ number, actor: clerk, action: 'transferred', toDepartment: 'urb', reason: 'Le poste est à l’urbanisme.' })).toMatchObject({ status: 'transferred', departments: ['RH', 'URB'] });
    // Transferred means forwarded to the new department.
    await test.relay!.waitForMessages(1, { to: 'urb-team@dept.test' });
    expect(await refusalOf(port.recordAction({ number, actor: clerk, action: 'transferred', toDepartment: 'URB' }))).toEqual({ code: 'letter.already_in_department', message: '2026-A-000001 is with URB already.' });
    expect(await refusalOf(port.recordAction({ number, actor: clerk, action: 'closed', outcome: 'answered' }))).toEqual({ code: 'letter.not_answered', message: '2026-A-000001 has no answer yet: it cannot be closed as answered.' });

    expect(await port.recordAction({ number, actor: clerk, action: 'closed', outcome: 'no_answer_needed' })).toMatchObject({ status: 'closed' });
    // The outbox records its sends as events too: compared once it has none left to record.
    await test.gateway.outbox.idle();
    const closedHistory = await storedEvents(test, number);
    // Acknowledging a closed letter once reopened it: now it is refused, and nothing changes.
    expect(await refusalOf(port.recordAction({ number, actor: clerk, action: 'acknowledged' }))).toEqual({ code: 'letter.closed', message: '2026-A-000001 is closed; reopen it first.' });
    expect(await refusalOf(port.recordAction({ number, actor: clerk, action: 'closed', outcome: 'withdrawn' }))).toMatchObject({ code: 'letter.closed' });
    expect(await storedEvents(test, number)).toEqual(closedHistory);
    expect(await port.findLetter(number)).toMatchObject({ status: 'closed' });
    expect((await port.listLetters({ open: true })).map((letter) => letter.number)).not.toContain(number);

    // A note on a closed letter changes nothing of how it stands.
    expect(await port.recordAction({ number, actor: clerk, action: 'note_added', text: 'Classé.' })).toMatchObject({ status: 'closed' });
    // Reopened, it stands where it stood: transferred, not yet acknowledged by URB.
    expect(await port.recordAction({ number, actor: clerk, action: 'reopened', reason: 'Le demandeur a envoyé une pièce.' })).toMatchObject({ status: 'transferred' });
    expect(await refusalOf(port.recordAction({ number, actor: clerk, action: 'reopened', reason: 'encore' }))).toEqual({ code: 'letter.not_closed', message: '2026-A-000001 is not closed: there is nothing to reopen.' });
    expect(await port.recordAction({ number, actor: { channel: 'slack', id: 'U0URB' }, action: 'acknowledged' })).toMatchObject({ status: 'acknowledged' });

    await test.gateway.outbox.idle();
    const worked = (await storedEvents(test, number)).filter((event) => event.actor !== null && event.type !== 'registered');
    expect(worked).toEqual([
      { type: 'acknowledged', actor: 'clerk@wasl.local', department: null, detail: null },
      { type: 'assigned', actor: 'clerk@wasl.local', department: null, detail: { assignee: 'person-7' } },
      { type: 'note_added', actor: 'clerk@wasl.local', department: null, detail: { text: 'Appelé le demandeur.' } },
      { type: 'transferred', actor: 'clerk@wasl.local', department: 'URB', detail: { reason: 'Le poste est à l’urbanisme.' } },
      { type: 'closed', actor: 'clerk@wasl.local', department: null, detail: { outcome: 'no_answer_needed' } },
      { type: 'note_added', actor: 'clerk@wasl.local', department: null, detail: { text: 'Classé.' } },
      { type: 'reopened', actor: 'clerk@wasl.local', department: null, detail: { reason: 'Le demandeur a envoyé une pièce.' } },
      { type: 'acknowledged', actor: 'U0URB', department: null, detail: null },
    ]);
    // Every row the gateway wrote, its own (registered, forwarded, receipt_sent) and the people's, reads back as an event.
    for (const row of await rowsOf(test.gateway, letterEvents)) expect(() => parseEvent(row)).not.toThrow();
  });

  it('refuses a step it cannot record, before touching the letter', async () => {
    const test = await start({ now: clockFrom('2026-12-04T10:00:00Z') });
    const { number } = await test.gateway.port.accept(citizenLetter('<work-2@citizen.test>'));
    const { port } = test.gateway;
    await test.gateway.outbox.idle();
    const before = await storedEvents(test, number);

    expect(await refusalOf(port.recordAction({ number, actor: clerk, action: 'note_added', text: 'n'.repeat(TEXT_LIMITS.text + 1) }))).toEqual({
      code: 'event.text_too_long',
      message: `the text of a "note_added" event has more than ${TEXT_LIMITS.text} characters`,
    });
    expect(await refusalOf(port.recordAction({ number, actor: clerk, action: 'reopened', reason: '   ' }))).toMatchObject({ code: 'event.text_empty' });
    expect(await refusalOf(port.recordAction({ number, actor: clerk, action: 'transferred', toDepartment: 'XYZ' }))).toMatchObject({ code: 'department.unknown' });
    expect(await refusalOf(port.recordAction({ number: '2020-A-999999', actor: clerk, action: 'acknowledged' }))).toMatchObject({ code: 'letter.unknown' });
    expect(await storedEvents(test, number)).toEqual(before);
  });

  it('extends a due date only to a later day, with its reason, and refuses it for a letter without one', async () => {
    const test = await start({ now: clockFrom('2026-12-04T10:00:00Z') });
    const { port } = test.gateway;
    const undated = (await port.accept(citizenLetter('<work-3@citizen.test>'))).number;
    expect(await refusalOf(port.recordAction({ number: undated, actor: clerk, action: 'deadline_extended', dueDate: '2027-01-29', reason: 'Avis attendu.' }))).toEqual({
      code: 'letter.no_due_date',
      message: `${undated} has no due date.`,
    });

    const dated = (await port.accept(citizenLetter('<work-4@citizen.test>'))).number;
    // Registered with a due date, as registration records one when the department has a rule.
    await test.gateway.database.write(async (tx) => {
      const [letter] = await tx.db.select().from(tx.tables.letters).where(eq(tx.tables.letters.number, dated));
      await tx.db
        .update(tx.tables.letterEvents)
        .set({ detail: JSON.stringify({ dueDate: '2026-12-31' }) })
        .where(and(eq(tx.tables.letterEvents.letterId, letter!.id), eq(tx.tables.letterEvents.type, 'registered')));
    });
    expect(await refusalOf(port.recordAction({ number: dated, actor: clerk, action: 'deadline_extended', dueDate: '2026-12-30', reason: 'Avis attendu.' }))).toEqual({
      code: 'letter.deadline_not_later',
      message: `The new due date of ${dated} must come after 2026-12-31.`,
    });
    await port.recordAction({ number: dated, actor: clerk, action: 'deadline_extended', dueDate: '2027-01-29', reason: 'Avis du service juridique attendu.' });
    expect((await storedEvents(test, dated)).at(-1)).toEqual({ type: 'deadline_extended', actor: 'clerk@wasl.local', department: null, detail: { dueDate: '2027-01-29', reason: 'Avis du service juridique attendu.' } });
  });
});
