/**
 * The Slack channel end to end: a real gateway (SQLite, SMTP, HTTP on 127.0.0.1), the real Bolt
 * receiver and Web API client, and a local stand-in for Slack that records what Slack would have
 * received. Requests reach the gateway signed exactly as Slack signs them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { deliveries, letterEvents, letters } from '../../src/db/schema.js';
import { FAKE_TEAM, signedRequest, type FakeSlack, type SlackCall } from '../helpers/fake-slack.js';
import { clockFrom } from '../helpers/clock.js';
import { waitFor, rowsOf } from '../helpers/gateway.js';
import { heldDisk } from '../helpers/held-disk.js';
import { composeMessage } from '../helpers/messages.js';
import { command, fixture, forwardIn, postsTo, startSlackWorld, threadReply, type SlackWorld as Setup } from '../helpers/slack-world.js';
import { sendLetter } from '../helpers/smtp-client.js';

let running: Setup | undefined;
afterEach(async () => {
  await running?.test.stop();
  await running?.slack.stop();
  running = undefined;
});

async function start(options: Parameters<typeof startSlackWorld>[0] = {}): Promise<Setup> {
  running = await startSlackWorld(options);
  return running;
}

/** The `view_submission` Slack sends when the person presses Send on the form it opened. */
function submission({ opened, values }: { opened: SlackCall; values: Record<string, unknown> }) {
  const view = opened.args.view as Record<string, unknown>;
  const payload = fixture('view-submission.json') as { view: Record<string, unknown> };
  return { ...payload, view: { ...payload.view, id: 'V0FORM42', private_metadata: view.private_metadata, state: { values } } };
}

function formValues({ department, subject, body, files = [] }: { department: string; subject: string; body: string; files?: unknown[] }) {
  return {
    department: { value: { type: 'static_select', selected_option: { value: department } } },
    subject: { value: { type: 'plain_text_input', value: subject } },
    body: { value: { type: 'plain_text_input', value: body } },
    files: { value: { type: 'file_input', files } },
  };
}

async function emailLetter(setup: Setup, { subject = 'Congé', attachments = [] as { filename: string; content: Buffer }[] } = {}): Promise<string> {
  const message = await composeMessage({ from: 'Karim <karim@citizen.test>', to: 'rh@wasl.local', subject, text: 'Bonjour, je demande un congé.', attachments });
  const reply = await sendLetter({ port: setup.test.smtpPort, from: 'karim@citizen.test', to: ['rh@wasl.local'], message });
  expect(reply.data?.code).toBe(250);
  return /\d{4}-A-\d{6}/.exec(reply.data!.text)![0];
}

/** What Slack answered when the forward was posted: its ts names the thread. */
function postedTs(forward: SlackCall): string {
  return String(forward.result!.ts);
}

function press({ slack, forward, ts, user = 'U0BOB', action }: { slack: FakeSlack; forward: SlackCall; ts: string; user?: string; action: Record<string, unknown> }) {
  const payload = fixture('block-actions-acknowledge.json') as Record<string, unknown>;
  return {
    ...payload,
    response_url: slack.responseUrl(),
    user: { id: user, username: 'bob', name: 'bob', team_id: FAKE_TEAM },
    container: { type: 'message', message_ts: ts, channel_id: forward.args.channel, is_ephemeral: false },
    channel: { id: forward.args.channel, name: 'rh' },
    message: { type: 'message', user: 'U0BOT', bot_id: 'B0BOT', ts, text: forward.args.text, blocks: forward.args.blocks },
    actions: [action],
  };
}

describe('sending a letter from Slack', () => {
  it('opens a form listing the departments; once sent, the letter is registered and the sender sees its number and receipt link at once', async () => {
    const setup = await start();
    const typed = command({ slack: setup.slack, text: 'send' });
    const opened = await setup.post('command', typed);
    expect(opened.status).toBe(200);
    const [open] = await setup.slack.waitForCalls('views.open');
    expect(open!.args.trigger_id).toBe(typed.trigger_id);
    const form = open!.args.view as { blocks: { block_id: string; element: { options?: { value: string }[] } }[] };
    expect(form.blocks[0]!.element.options!.map((option) => option.value)).toEqual(['BO', 'RH', 'URB']);

    const contract = setup.slack.addFile({ name: 'contrat.pdf', mimetype: 'application/pdf', content: Buffer.from('%PDF-1.4 contrat') });
    const sent = await setup.post('interaction', submission({ opened: open!, values: formValues({ department: 'RH', subject: 'Attestation de travail', body: 'Bonjour,\nune attestation svp.', files: [contract] }) }));

    expect(sent.status).toBe(200);
    expect(sent.json?.response_action).toBe('update');
    const number = /\d{4}-A-\d{6}/.exec(JSON.stringify(sent.json))?.[0];
    expect(number).toBeDefined();
    const letter = (await setup.test.gateway.port.findLetter(number!))!;
    expect(letter).toMatchObject({ channel: 'slack', sender: { id: 'U0ALICE', displayName: 'Alice Benali' }, subject: 'Attestation de travail', departments: ['RH'] });

    // The ephemeral reply goes to the response_url of the command that opened the form.
    const [reply] = await setup.slack.waitForResponses(1);
    expect(typed.response_url.endsWith(reply!.id)).toBe(true);
    expect(reply!.body.response_type).toBe('ephemeral');
    expect(String(reply!.body.text)).toContain(`Your letter is registered as *${number}*`);
    expect(String(reply!.body.text)).toContain(letter.receiptUrl);

    // The letter reaches RH on both its channels, with the file the sender attached.
    const forward = await forwardIn(setup, 'C0RH', number!);
    expect(JSON.stringify(forward.args.blocks)).toContain('une attestation svp.');
    await setup.slack.waitForCalls('files.completeUploadExternal');
    expect([...setup.slack.uploads.values()].map((upload) => upload.content.toString())).toEqual(['%PDF-1.4 contrat']);
    const [mail] = await setup.test.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
    expect(mail!.parsed.attachments.map((attachment) => attachment.filename)).toEqual(['contrat.pdf']);

    // The sender was answered inline: the core queued no receipt delivery for this letter.
    await setup.test.gateway.outbox.idle();
    const kinds = (await rowsOf(setup.test.gateway, deliveries)).map((row) => row.kind);
    expect(kinds.sort()).toEqual(['forward', 'forward']);
  });

  it('registers `send DEPT subject` typed in one go and answers with the number; an unknown department is refused and nothing is stored', async () => {
    const setup = await start();
    const refused = await setup.post('command', command({ slack: setup.slack, text: 'send XYZ Objet' }));
    expect(refused.json).toEqual({ response_type: 'ephemeral', text: 'No department has the code "XYZ". Departments: BO, RH, URB' });
    expect(await rowsOf(setup.test.gateway, letters)).toEqual([]);

    const accepted = await setup.post('command', command({ slack: setup.slack, text: 'send urb Permis de construire\nBonjour,\nmon dossier est complet.' }));
    expect(accepted.json?.response_type).toBe('ephemeral');
    const number = /\*(\d{4}-A-\d{6})\*/.exec(String(accepted.json?.text))![1]!;
    expect((await setup.test.gateway.port.findLetter(number))).toMatchObject({ subject: 'Permis de construire', departments: ['URB'], channel: 'slack' });
  });

  it('when the disk does not confirm the letter, gives its number and asks to check it before sending it again', async () => {
    const disk = heldDisk();
    const setup = await start({ flushToDisk: disk.flushToDisk, now: clockFrom('2026-03-14T09:00:00Z') });
    const sending = setup.post('command', command({ slack: setup.slack, text: 'send urb Permis de construire\nBonjour.' }));
    await waitFor(() => disk.flushes.length === 1, { what: "the letter's flush" });
    disk.failWithIoError(0);
    // Not "nothing was kept": sent again as a new command, it would be a second letter.
    expect((await sending).json).toEqual({
      response_type: 'ephemeral',
      text: 'Your letter is registered as *2026-A-000001*, but the disk did not confirm it. Before sending it again, check in a moment with */courrier status 2026-A-000001*.',
    });

    disk.letGo();
    const status = await setup.post('command', command({ slack: setup.slack, text: 'status 2026-A-000001' }));
    expect(status.json?.text).toContain('*2026-A-000001* — ');
    expect(await rowsOf(setup.test.gateway, letters)).toHaveLength(1);
  });

  it('when the disk does not confirm a letter sent from the form, the form stays open with its number, and sent again it is the same letter', async () => {
    const disk = heldDisk();
    const setup = await start({ flushToDisk: disk.flushToDisk, now: clockFrom('2026-03-14T09:00:00Z') });
    await setup.post('command', command({ slack: setup.slack, text: 'send' }));
    const [open] = await setup.slack.waitForCalls('views.open');
    const form = submission({ opened: open!, values: formValues({ department: 'RH', subject: 'Attestation de travail', body: 'Bonjour.' }) });
    const sending = setup.post('interaction', form);
    await waitFor(() => disk.flushes.length === 1, { what: "the letter's flush" });
    disk.failWithIoError(0);
    expect((await sending).json).toEqual({
      response_action: 'errors',
      errors: { body: 'Your letter is registered as *2026-A-000001*, but the disk did not confirm it. Before sending it again, check in a moment with */courrier status 2026-A-000001*.' },
    });

    disk.letGo();
    const again = await setup.post('interaction', form);
    expect(again.json?.response_action).toBe('update');
    expect(JSON.stringify(again.json)).toContain('2026-A-000001');
    expect(await rowsOf(setup.test.gateway, letters)).toHaveLength(1);
  });

  it('tells the person how to send in one line when Slack will not open the form', async () => {
    const setup = await start();
    setup.slack.fail({ method: 'views.open', times: 1, platformError: 'expired_trigger_id' });
    const answer = await setup.post('command', command({ slack: setup.slack, text: 'send' }));
    expect(answer.json).toEqual({ response_type: 'ephemeral', text: 'The form could not open. Try again, or write */courrier send DEPARTMENT subject*.' });
    expect(setup.slack.failed.map((call) => call.method)).toEqual(['views.open']);
  });

  it('answers status, list and help in the person’s language, and says clearly when a number is unknown', async () => {
    const setup = await start();
    const number = await emailLetter(setup, { subject: 'Mutation' });

    const status = await setup.post('command', command({ slack: setup.slack, text: `status ${number}`, user: 'U0BOB', channel: 'C0RH' }));
    // Bob's Slack is in French; in RH's channel he may see the subject.
    expect(status.json?.text).toContain(`*${number}* — `);
    expect(status.json?.text).toContain('> Mutation');
    expect(status.json?.text).toContain('Traité par : RH');

    const elsewhere = await setup.post('command', command({ slack: setup.slack, text: `status ${number}` }));
    expect(elsewhere.json?.text).not.toContain('Mutation');

    const unknown = await setup.post('command', command({ slack: setup.slack, text: 'status 2020-A-999999' }));
    expect(unknown.json?.text).toBe('No letter has the number "2020-A-999999".');

    const list = await setup.post('command', command({ slack: setup.slack, text: 'list', user: 'U0BOB', channel: 'C0RH' }));
    expect(list.json?.text).toContain('Courriers ouverts pour RH — Ressources humaines');
    expect(list.json?.text).toContain(`*${number}* Mutation`);

    const notADepartment = await setup.post('command', command({ slack: setup.slack, text: 'list', channel: 'C0GENERAL' }));
    expect(notADepartment.json?.text).toContain("This channel is no department's channel");

    const help = await setup.post('command', command({ slack: setup.slack, text: 'help' }));
    expect(help.json?.text).toContain('*/courrier status NUMBER*');
  });
});

describe('letters for a department with a Slack channel', () => {
  it('are posted there with the receipt link and files; each button press is recorded with who did it and the message shows it', async () => {
    const setup = await start();
    const number = await emailLetter(setup, { attachments: [{ filename: 'demande.txt', content: Buffer.from('pièce jointe') }] });
    const forward = await forwardIn(setup, 'C0RH', number);
    const letter = (await setup.test.gateway.port.findLetter(number))!;
    expect(JSON.stringify(forward.args.blocks)).toContain(letter.receiptUrl);
    expect(JSON.stringify(forward.args.blocks)).toContain('Bonjour, je demande un congé.');
    expect(forward.args.metadata).toMatchObject({ event_type: 'wasl_delivery', event_payload: { letter: number, kind: 'forward' } });
    const [upload] = await setup.slack.waitForCalls('files.completeUploadExternal');
    const ts = postedTs(forward);
    expect(upload!.args).toMatchObject({ channel_id: 'C0RH', thread_ts: ts });
    expect([...setup.slack.uploads.values()][0]!.content.toString()).toBe('pièce jointe');
    const delivery = (await rowsOf(setup.test.gateway, deliveries)).find((row) => row.channel === 'slack')!;
    expect(delivery.externalId).toBe(`C0RH:${ts}`);

    const acknowledge = press({ slack: setup.slack, forward, ts, action: { ...(fixture('block-actions-acknowledge.json').actions as object[])[0], block_id: `wasl.letter:${number}`, value: number } });
    expect((await setup.post('interaction', acknowledge)).status).toBe(200);
    expect((await setup.test.gateway.port.findLetter(number))!.status).toBe('acknowledged');
    const [update] = setup.slack.callsTo('chat.update');
    expect(update!.args).toMatchObject({ channel: 'C0RH', ts });
    expect(JSON.stringify(update!.args.blocks)).toContain('Pris en charge par <@U0BOB>');
    expect(JSON.stringify(update!.args.blocks)).not.toContain('wasl.acknowledge');

    // The same press delivered again acts once.
    await setup.post('interaction', acknowledge);
    expect(setup.slack.callsTo('chat.update')).toHaveLength(1);

    const transfer = press({ slack: setup.slack, forward, ts, action: { ...(fixture('block-actions-transfer.json').actions as object[])[0], block_id: `wasl.letter:${number}` } });
    await setup.post('interaction', transfer);
    expect((await setup.test.gateway.port.findLetter(number))).toMatchObject({ status: 'transferred', departments: ['RH', 'URB'] });
    const afterTransfer = setup.slack.callsTo('chat.update')[1]!;
    expect(JSON.stringify(afterTransfer.args.blocks)).toContain('Réorienté vers URB — Urbanisme par <@U0BOB>');
    expect(JSON.stringify(afterTransfer.args.blocks)).not.toContain('"actions"');
    // Transferred means forwarded to the new department, on its own channel.
    await forwardIn(setup, 'C0URB', number);

    // A press on a letter the register does not know is refused to the presser alone.
    const stray = press({ slack: setup.slack, forward, ts, action: { ...(fixture('block-actions-acknowledge.json').actions as object[])[0], block_id: 'wasl.letter:2020-A-999999', action_ts: '1760009999.000001' } });
    await setup.post('interaction', stray);
    const [refusal] = await setup.slack.waitForResponses(1);
    expect(refusal!.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(String(refusal!.body.text)).toContain("L'action n'a pas pu être enregistrée");
    expect(setup.slack.callsTo('chat.update')).toHaveLength(2);

    const events = (await rowsOf(setup.test.gateway, letterEvents)).filter((event) => ['acknowledged', 'transferred'].includes(event.type));
    expect(events.map((event) => [event.type, event.actorChannel, event.actorId, event.actorName, event.departmentCode])).toEqual([
      ['acknowledged', 'slack', 'U0BOB', 'Bob Haddad', null],
      ['transferred', 'slack', 'U0BOB', 'Bob Haddad', 'URB'],
    ]);
  });
  it('a press the letter\'s state refuses is told to the presser alone, in their language, and records nothing', async () => {
    const setup = await start();
    const number = await emailLetter(setup);
    const forward = await forwardIn(setup, 'C0RH', number);
    const ts = postedTs(forward);
    await setup.test.gateway.outbox.idle();
    const acknowledgeButton = (fixture('block-actions-acknowledge.json').actions as Record<string, unknown>[])[0]!;
    const eventsOfLetter = async () => (await rowsOf(setup.test.gateway, letterEvents)).map((event) => [event.type, event.actorId, event.detail]);

    // A forward posted before closes took an outcome has a Close button: pressing it offers the outcomes, and closes nothing.
    const oldClose = press({ slack: setup.slack, forward, ts, user: 'U0ALICE', action: { ...acknowledgeButton, action_id: 'wasl.close', block_id: `wasl.letter:${number}`, action_ts: '1760000100.000001' } });
    await setup.post('interaction', oldClose);
    const [choose] = await setup.slack.waitForResponses(1);
    expect(choose!.body).toMatchObject({ response_type: 'ephemeral', replace_original: false, text: 'Choose how the letter ended in the list that replaces the Close button.' });
    const [redrawn] = await setup.slack.waitForCalls('chat.update');
    expect(JSON.stringify(redrawn!.args.blocks)).toContain('"value":"no_answer_needed"');
    expect((await setup.test.gateway.port.findLetter(number))!.status).toBe('forwarded');

    const close = press({
      slack: setup.slack,
      forward,
      ts,
      action: { type: 'static_select', action_id: 'wasl.close', block_id: `wasl.letter:${number}`, selected_option: { value: 'no_answer_needed' }, action_ts: '1760000200.000001' },
    });
    await setup.post('interaction', close);
    expect((await setup.test.gateway.port.findLetter(number))!.status).toBe('closed');
    await waitFor(() => setup.slack.callsTo('chat.update').length === 2, { what: 'the forward showing the close' });
    expect(JSON.stringify(setup.slack.callsTo('chat.update')[1]!.args.blocks)).toContain('Clos (sans réponse nécessaire) par <@U0BOB>');
    const closed = await eventsOfLetter();

    // Acknowledging a closed letter once reopened it: it is refused, and the register and the message stay as they were.
    const acknowledge = press({ slack: setup.slack, forward, ts, action: { ...acknowledgeButton, block_id: `wasl.letter:${number}`, value: number, action_ts: '1760000300.000001' } });
    expect((await setup.post('interaction', acknowledge)).status).toBe(200);
    const [, refusal] = await setup.slack.waitForResponses(2);
    expect(refusal!.body).toMatchObject({ response_type: 'ephemeral', replace_original: false, text: `L'action n'a pas pu être enregistrée : ${number} est clos ; rouvrez-le d'abord.` });
    expect(await eventsOfLetter()).toEqual(closed);
    expect((await setup.test.gateway.port.findLetter(number))!.status).toBe('closed');
    expect(setup.slack.callsTo('chat.update')).toHaveLength(2);
  });
});

describe('answers across channels', () => {
  it('a reply in the thread of a forward reaches the email sender as an outgoing letter, and the thread says it was sent', async () => {
    const setup = await start();
    const number = await emailLetter(setup);
    await setup.test.relay!.waitForMessages(1, { to: 'karim@citizen.test' });
    const forward = await forwardIn(setup, 'C0RH', number);
    const ts = postedTs(forward);
    const file = setup.slack.addFile({ name: 'attestation.pdf', mimetype: 'application/pdf', content: Buffer.from('%PDF attestation') });

    const reply = threadReply({ channel: 'C0RH', threadTs: ts, text: 'Votre congé est accordé &amp; signé.', eventId: 'Ev0ANSWER1', files: [file] });
    expect((await setup.post('event', reply)).status).toBe(200);

    const [, answerMail] = await setup.test.relay!.waitForMessages(2, { to: 'karim@citizen.test' });
    const answerNumber = /\d{4}-D-\d{6}/.exec(answerMail!.parsed.subject ?? '')?.[0];
    expect(answerNumber).toBeDefined();
    expect(answerMail!.parsed.text).toContain('Votre congé est accordé & signé.');
    expect(answerMail!.parsed.attachments.map((attachment) => attachment.content.toString())).toEqual(['%PDF attestation']);
    expect((await setup.test.gateway.port.findLetter(number))!.status).toBe('answered');
    expect((await setup.test.gateway.port.findLetter(answerNumber!))).toMatchObject({ answers: number, channel: 'slack', sender: { id: 'U0BOB' } });

    // The thread learns that the answer went out.
    await waitFor(() => postsTo(setup.slack, 'C0RH').some((call) => call.args.thread_ts === ts && String(call.args.text).includes(answerNumber!)), { what: 'the delivery notice in the thread' });

    // Slack sends the same event again (its retry): nothing new is registered or sent.
    const again = await setup.post('event', reply, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } });
    expect(again.status).toBe(200);
    await setup.test.gateway.outbox.idle();
    expect(await rowsOf(setup.test.gateway, letters)).toHaveLength(2);
    expect(setup.test.relay!.to('karim@citizen.test')).toHaveLength(2);
  });

  it('in Socket Mode, an answer the disk does not confirm is told its number in the thread, not that nothing was sent', async () => {
    const disk = heldDisk({ holding: false });
    const setup = await start({ socketMode: true, flushToDisk: disk.flushToDisk });
    const number = await emailLetter(setup);
    const ts = postedTs(await forwardIn(setup, 'C0RH', number));
    await setup.test.gateway.outbox.idle();

    disk.hold();
    // Socket Mode acknowledges the event before the gateway handles it: Slack will not send it again.
    await setup.slack.sendEnvelope({ type: 'events_api', payload: threadReply({ channel: 'C0RH', threadTs: ts, text: 'Congé accordé.', eventId: 'Ev0ANSWER3' }) });
    await waitFor(() => disk.flushes.length === 1, { what: "the answer's flush" });
    disk.failWithIoError(0);
    const [told] = await setup.slack.waitForCalls('chat.postEphemeral');
    expect(told!.args).toMatchObject({ channel: 'C0RH', user: 'U0BOB', thread_ts: ts });
    const answerNumber = /\*(\d{4}-D-\d{6})\*/.exec(String(told!.args.text))?.[1];
    expect(told!.args.text).toBe(`Votre courrier est enregistré sous le numéro *${answerNumber}*, mais le disque ne l'a pas confirmé. Avant de le renvoyer, vérifiez dans un moment avec */courrier status ${answerNumber}*.`);

    disk.letGo();
    expect((await setup.test.gateway.port.findLetter(answerNumber!))).toMatchObject({ answers: number, channel: 'slack', sender: { id: 'U0BOB' } });
  });

  it('a thread answer whose file Slack cannot hand over yet is refused with 500, and taken once when Slack sends the event again', async () => {
    const setup = await start();
    const number = await emailLetter(setup);
    const ts = postedTs(await forwardIn(setup, 'C0RH', number));
    const file = setup.slack.addFile({ name: 'plan.pdf', mimetype: 'application/pdf', content: Buffer.from('%PDF plan') });
    const reply = threadReply({ channel: 'C0RH', threadTs: ts, text: 'Voici le plan.', eventId: 'Ev0RETRY', files: [file] });

    setup.slack.fail({ method: 'files.download', times: 1, status: 503 });
    expect((await setup.post('event', reply)).status).toBe(500);
    expect(await rowsOf(setup.test.gateway, letters)).toHaveLength(1);

    const retried = await setup.post('event', reply, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_error' } });
    expect(retried.status).toBe(200);
    const stored = await rowsOf(setup.test.gateway, letters);
    expect(stored).toHaveLength(2);
    expect(stored[1]).toMatchObject({ direction: 'D', externalId: 'Ev0RETRY', bodyText: 'Voici le plan.' });
  });

  it('ignores our own posts, other apps and threads that are not forwards, while a person in the thread is heard', async () => {
    const setup = await start();
    const number = await emailLetter(setup);
    const forward = await forwardIn(setup, 'C0RH', number);
    const ts = postedTs(forward);
    const bot = fixture('event-bot-message.json') as { event: Record<string, unknown> };
    await setup.post('event', { ...bot, event: { ...bot.event, thread_ts: ts } });
    const ours = threadReply({ channel: 'C0RH', threadTs: ts, text: 'Réponse remise', eventId: 'Ev0OURS', user: 'U0BOT' });
    await setup.post('event', { ...ours, event: { ...ours.event, bot_id: 'B0BOT' } });
    await setup.post('event', threadReply({ channel: 'C0RH', threadTs: '1111111111.000001', text: 'Une discussion ordinaire', eventId: 'Ev0CHAT' }));
    // processBeforeResponse: each answer above came after its listener finished.
    expect(await rowsOf(setup.test.gateway, letters)).toHaveLength(1);

    await setup.post('event', threadReply({ channel: 'C0RH', threadTs: ts, text: 'Accordé.', eventId: 'Ev0PERSON' }));
    expect((await rowsOf(setup.test.gateway, letters)).map((row) => row.bodyText.trim())).toEqual(['Bonjour, je demande un congé.', 'Accordé.']);
  });

  it('an email reply to the forward of a letter sent from Slack reaches the sender in Slack', async () => {
    const setup = await start();
    const sent = await setup.post('command', command({ slack: setup.slack, text: 'send RH Attestation\nBonjour' }));
    const number = /\*(\d{4}-A-\d{6})\*/.exec(String(sent.json?.text))![1]!;
    const [forward] = await setup.test.relay!.waitForMessages(1, { to: 'rh-team@dept.test' });
    const replyAddress = forward!.parsed.replyTo!.value[0]!.address!;

    const answer = await composeMessage({ from: 'Service RH <rh-team@dept.test>', to: replyAddress, subject: `Re: ${forward!.parsed.subject}`, text: 'Votre attestation est prête.' });
    const reply = await sendLetter({ port: setup.test.smtpPort, from: 'rh-team@dept.test', to: [replyAddress], message: answer });
    expect(reply.data?.code).toBe(250);

    // Alice receives it as a direct message from the app.
    await waitFor(() => postsTo(setup.slack, 'U0ALICE').length > 0, { what: 'the answer posted to Alice' });
    const [toAlice] = postsTo(setup.slack, 'U0ALICE');
    expect(JSON.stringify(toAlice!.args.blocks)).toContain('Votre attestation est prête.');
    expect(String(toAlice!.args.text)).toContain(number);
    expect((await setup.test.gateway.port.findLetter(number))!.status).toBe('answered');
  });
});

describe('requests that are not from Slack', () => {
  it('are refused with 401 when the signature is wrong or too old, and change nothing', async () => {
    const setup = await start();
    const payload = command({ slack: setup.slack, text: 'send RH Objet\ntexte' });
    const forged = await setup.post('command', payload, { signature: 'v0=' + 'a'.repeat(64) });
    expect(forged.status).toBe(401);
    const stale = await setup.post('command', payload, { timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    expect(stale.status).toBe(401);
    const otherSecret = await signedRequest({ url: setup.url, secret: 'not-the-secret', kind: 'command', payload });
    expect(otherSecret.status).toBe(401);

    expect(await rowsOf(setup.test.gateway, letters)).toEqual([]);
    expect(setup.slack.calls.filter((call) => call.method !== 'auth.test' && call.method !== 'users.info')).toEqual([]);
    // The very same request, correctly signed, is taken: the refusals were about the signature.
    expect((await setup.post('command', payload)).json?.text).toContain('registered as');
  });
});

describe('when Slack is unavailable', () => {
  it('a forward is retried while Slack is down, then posted once it is back', async () => {
    const setup = await start();
    const apiPort = setup.slack.port;
    await setup.slack.stop();
    const number = await emailLetter(setup);
    const slackRows = async () => (await rowsOf(setup.test.gateway, deliveries)).filter((row) => row.channel === 'slack');
    await waitFor(async () => (await slackRows()).some((row) => row.attempts >= 2 && row.status === 'pending'), { what: 'two failed attempts' });
    expect((await slackRows())[0]!.lastErrorCode).toBe('slack.unreachable');

    expect(setup.slack.port).toBe(apiPort);
    await setup.slack.start();
    await forwardIn(setup, 'C0RH', number);
    await waitFor(async () => (await slackRows())[0]!.status === 'sent', { what: 'the forward marked sent' });
  });

  it('a 5xx is retried, and a 429 schedules the next attempt no sooner than its Retry-After', async () => {
    const setup = await start({ outbox: { retryBaseMs: 50, retryMaxMs: 100 } });
    setup.slack.fail({ method: 'chat.postMessage', times: 1, status: 503 });
    setup.slack.fail({ method: 'chat.postMessage', times: 1, status: 429, retryAfterSeconds: 2 });
    const number = await emailLetter(setup);
    const slackRow = async () => (await rowsOf(setup.test.gateway, deliveries)).find((row) => row.channel === 'slack')!;

    await waitFor(async () => (await slackRow()).lastErrorCode === 'slack.rate_limited', { what: 'the rate-limited attempt recorded' });
    const limited = await slackRow();
    expect(limited).toMatchObject({ status: 'pending', attempts: 2 });
    // The outbox's own back-off is at most 100 ms here: the 2 s come from Slack's Retry-After.
    expect(limited.nextAttemptAt.getTime() - limited.updatedAt.getTime()).toBeGreaterThanOrEqual(2000);

    await forwardIn(setup, 'C0RH', number);
    expect(setup.slack.failed.filter((call) => call.method === 'chat.postMessage')).toHaveLength(2);
    await waitFor(async () => (await slackRow()).status === 'sent', { what: 'the forward marked sent' });
    expect((await slackRow()).attempts).toBe(3);
  });

  it('a refusal that needs a person (the bot is not in the channel) fails the delivery at once', async () => {
    const setup = await start();
    setup.slack.fail({ method: 'chat.postMessage', times: 1, platformError: 'not_in_channel' });
    await emailLetter(setup);
    const slackRow = async () => (await rowsOf(setup.test.gateway, deliveries)).find((row) => row.channel === 'slack');
    await waitFor(async () => (await slackRow())?.status === 'failed', { what: 'the forward marked failed' });
    expect(await slackRow()).toMatchObject({ attempts: 1, lastErrorCode: 'slack.not_in_channel' });
  });
});
