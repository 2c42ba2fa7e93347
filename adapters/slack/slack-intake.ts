/**
 * Slack's side of the door: a Bolt app that takes the slash command, the send form, the buttons
 * of forwarded letters and the replies in their threads, and turns them into calls on the port.
 *
 * Over HTTP the receiver runs with `processBeforeResponse`, so Slack gets its HTTP answer only
 * once the letter is committed: a thread answer that could not be stored gets a 500 and Slack
 * sends the event again (same event id, which `accept` recognises), and the command's ephemeral
 * reply already carries the registration number. Slack waits 3 seconds for that answer; `accept`
 * takes milliseconds, and slower work (fetching files) happens before it, within the same budget.
 */
import type { Language } from '../../src/config/config.schema.js';
import { App, HTTPReceiver, LogLevel, SocketModeReceiver, webApi, type BufferedIncomingMessage, type Logger as BoltLogger } from '@slack/bolt';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { Acceptance, Attachment, DepartmentView, GatewayPort, HttpMount, InboundLetter, LetterActionRequest } from '../../src/channels/port.js';
import { isWaslError, toWaslError, WaslError } from '../../src/errors.js';
import { isCloseOutcome } from '../../src/lifecycle/letter-events.js';
import { isLifecycleCode, outcomeName, refusalSentence } from '../../src/lifecycle/lifecycle-text.js';
import { languageOfLocale, say, type PhraseKey, type PressAction } from './messages.js';
import type { SlackConfig } from './index.js';
import { slackError } from './slack-outgoing.js';
import {
  FORM,
  SLACK,
  commandLetter,
  decodeFormContext,
  formLetter,
  formValuesOf,
  isThreadReplyByPerson,
  messageFileRefs,
  parseCommand,
  threadAnswerLetter,
  threadKey,
  type FormContext,
  type MessageEvent,
  type SlackFileRef,
  type SlackUser,
  type SubmittedView,
} from './to-letter.js';
import {
  ACTION_OF,
  type Block,
  afterAction,
  withCloseOutcomes,
  departmentsList,
  ephemeral,
  letterNumberOfBlock,
  listText,
  registeredText,
  registeredView,
  sendForm,
  statusText,
} from './to-native.js';

type WebClient = InstanceType<typeof webApi.WebClient>;

/** Bolt logs through our pino logger, one level down: its info lines are our debug. */
function boltLogger(logger: Logger): BoltLogger {
  let level = LogLevel.INFO;
  return {
    debug: (...message: unknown[]) => logger.trace({ phase: 'slack.bolt' }, message.map(String).join(' ')),
    info: (...message: unknown[]) => logger.debug({ phase: 'slack.bolt' }, message.map(String).join(' ')),
    warn: (...message: unknown[]) => logger.warn({ phase: 'slack.bolt' }, message.map(String).join(' ')),
    error: (...message: unknown[]) => logger.error({ phase: 'slack.bolt' }, message.map(String).join(' ')),
    setLevel: (next: LogLevel) => (level = next),
    getLevel: () => level,
    setName: () => undefined,
  };
}

function humanSize(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}

/** Which phrase tells a person why their letter was not taken, by error code. */
/** What a press asks the core to record; undefined for a Close button that names no outcome. */
function pressRequest({ action, chosen }: { action: PressAction; chosen: string | undefined }): LetterActionRequest | undefined {
  if (action === 'transferred') return { action, toDepartment: chosen };
  if (action === 'closed') return isCloseOutcome(chosen) ? { action, outcome: chosen } : undefined;
  return { action };
}

function refusalPhrase(error: WaslError): PhraseKey {
  if (error.code === 'department.unknown') return 'unknownDepartment';
  if (error.code === 'letter.too_large') return 'tooLarge';
  if (error.code === 'slack.file_unreadable') return 'fileUnreadable';
  if (error.code === 'register.not_confirmed') return 'notConfirmed';
  return 'notRegistered';
}

export interface SlackIntake {
  /** Opens the receiver's own port, when it has one. */
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Socket Mode's connection, when configured, which one gateway at a time holds. Slack hands each
   * event to one of an app's open connections and refuses more than 10 per app
   * (too_many_websockets): one connection serves every gateway, however many there are.
   */
  readonly socketMode: { start(): Promise<void>; stop(): Promise<void> } | undefined;
  /** The receiver's own port, when it has one (not on the gateway's HTTP server, not Socket Mode). */
  readonly listeningPort: number | undefined;
}

export function createSlackIntake({
  config,
  port,
  http,
  client,
  language: defaultLanguage,
  logger,
  now,
}: {
  config: SlackConfig & { botToken: string };
  port: GatewayPort;
  http: HttpMount;
  client: WebClient;
  language: Language;
  logger: Logger;
  now: () => Date;
}): SlackIntake {
  const log = boltLogger(logger);
  const apiUrl = config.apiUrl;
  const receiver = config.socketMode
    ? new SocketModeReceiver({ appToken: config.appToken ?? '', logger: log, installerOptions: { clientOptions: apiUrl ? { slackApiUrl: apiUrl } : {} } })
    : new HTTPReceiver({
        signingSecret: config.signingSecret ?? '',
        endpoints: [config.path],
        processBeforeResponse: true,
        logger: log,
        // The signed bytes, to keep as the letter's original (byte for byte, as the register promises).
        customPropertiesExtractor: (request) => ({ rawBody: (request as { rawBody?: Buffer }).rawBody }),
      });

  /** Who we are, asked once (auth.test) and asked again after a failure rather than cached broken. */
  let identity: Promise<{ botId: string | undefined; botUserId: string | undefined; teamId: string | undefined }> | undefined;
  function whoAmI() {
    identity ??= client.auth.test().then(
      (result) => ({ botId: result.bot_id, botUserId: result.user_id, teamId: result.team_id }),
      (error: unknown) => {
        identity = undefined;
        throw error;
      },
    );
    return identity;
  }

  const app = new App({
    receiver,
    logger: log,
    // A custom authorize instead of `token`: Bolt would otherwise call auth.test in its constructor
    // and leave a rejected promise behind when Slack is unreachable at start. Without our ids a
    // request is still handled: our own posts carry a bot_id, which the thread filter ignores.
    authorize: async () => ({ botToken: config.botToken, ...(await whoAmI().catch(() => ({}))) }),
    ignoreSelf: true,
  });
  app.error(async (error) => {
    logger.warn({ phase: 'slack.intake', err: error.message }, 'Slack request not handled');
    // Rethrown so the HTTP receiver answers 500 and Slack sends the event again later.
    throw error;
  });

  const people = new Map<string, { user: SlackUser; until: number }>();
  /** The person's name and language (users.info with locale), cached for ten minutes. */
  async function person({ id, fallbackName }: { id: string; fallbackName: string | undefined }): Promise<SlackUser> {
    const cached = people.get(id);
    if (cached && cached.until > Date.now()) return cached.user;
    try {
      const result = await client.users.info({ user: id, include_locale: true });
      const profile = result.user?.profile;
      const user: SlackUser = {
        id,
        displayName: profile?.display_name || profile?.real_name || result.user?.real_name || result.user?.name || fallbackName,
        language: result.user?.locale ? languageOfLocale({ locale: result.user.locale, fallback: defaultLanguage }) : undefined,
      };
      people.set(id, { user, until: Date.now() + 600_000 });
      return user;
    } catch (error) {
      logger.debug({ phase: 'slack.people', err: slackMessage(error) }, 'users.info failed; going on without name and locale');
      return { id, displayName: fallbackName, language: undefined };
    }
  }

  const languageFor = (user: SlackUser): Language => languageOfLocale({ locale: user.language, fallback: defaultLanguage });

  function departmentOfChannel(channel: string): DepartmentView | undefined {
    return port.departments().find((department) => (department.channels[SLACK] ?? []).includes(channel));
  }

  function findDepartment(code: string): DepartmentView | undefined {
    return port.departments().find((department) => department.code.toLowerCase() === code.toLowerCase());
  }

  /**
   * Fetches the files of a form or message with the bot token. A file we cannot read is refused
   * rather than registered empty: Slack answers an unauthorised download with a sign-in page.
   */
  async function download(files: SlackFileRef[]): Promise<Attachment[]> {
    const total = files.reduce((sum, file) => sum + (file.size ?? 0), 0);
    if (total > config.maxFileBytes) {
      throw new WaslError('letter.too_large', `files of ${total} bytes`, { details: { size: total, limit: config.maxFileBytes } });
    }
    const attachments: Attachment[] = [];
    let received = 0;
    for (const file of files) {
      const url = file.url ?? (await client.files.info({ file: file.id })).file?.url_private_download;
      if (!url) throw new WaslError('slack.file_unreadable', `file ${file.id} has no download address`, { temporary: true });
      const response = await fetch(url, { headers: { authorization: `Bearer ${config.botToken}` }, signal: AbortSignal.timeout(config.requestTimeoutMs) });
      const type = response.headers.get('content-type') ?? '';
      if (!response.ok || (type.startsWith('text/html') && !file.mimetype.startsWith('text/html'))) {
        throw new WaslError('slack.file_unreadable', `file ${file.id}: HTTP ${response.status} ${type}`, { temporary: response.status >= 500 });
      }
      const content = new Uint8Array(await response.arrayBuffer());
      received += content.byteLength;
      if (received > config.maxFileBytes) {
        throw new WaslError('letter.too_large', `files of more than ${received} bytes`, { details: { size: received, limit: config.maxFileBytes } });
      }
      attachments.push({ filename: file.name, contentType: file.mimetype, content });
    }
    return attachments;
  }

  function refusalText({ error, language }: { error: WaslError; language: Language }): string {
    const size = Number(error.details?.size ?? 0);
    return say({
      language,
      key: refusalPhrase(error),
      values: {
        department: String((error.details?.destinations as string[] | undefined)?.join(', ') ?? ''),
        departments: departmentsList(port.departments()),
        size: humanSize(size),
        limit: humanSize(config.maxFileBytes),
        number: String(error.details?.number ?? ''),
        command: config.command,
      },
    });
  }

  /** Tells the sender the number where they typed the command; by DM when that link is gone. */
  async function confirm({ context, user, text }: { context: FormContext; user: SlackUser; text: string }): Promise<void> {
    if (context.responseUrl) {
      try {
        const response = await fetch(context.responseUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(ephemeral(text)),
          signal: AbortSignal.timeout(config.requestTimeoutMs),
        });
        if (response.ok) return;
        logger.debug({ phase: 'slack.confirm', status: response.status }, 'response_url refused; sending a DM instead');
      } catch (error) {
        logger.debug({ phase: 'slack.confirm', err: slackMessage(error) }, 'response_url unreachable; sending a DM instead');
      }
    }
    await client.chat.postMessage({ channel: user.id, text });
  }

  async function accept(letter: InboundLetter): Promise<Acceptance> {
    // Slack signed the request and names the user: the workspace the app is installed in vouches for the account.
    const teamId = await whoAmI().then((self) => self.teamId, () => undefined);
    const acceptance = await port.accept({ ...letter, authentication: { verdict: 'platform', authority: teamId ?? null } });
    logger.info({ phase: 'slack.accepted', letter: acceptance.number, duplicate: acceptance.duplicate }, 'letter registered from Slack');
    return acceptance;
  }

  app.command(config.command, async ({ command, ack }) => {
    const user = await person({ id: command.user_id, fallbackName: command.user_name });
    const language = languageFor(user);
    const values = { command: config.command, departments: departmentsList(port.departments()) };
    const reply = (key: PhraseKey, extra: Record<string, string> = {}) => ack(ephemeral(say({ language, key, values: { ...values, ...extra } })));
    const parsed = parseCommand(command.text ?? '');
    switch (parsed.kind) {
      case 'help':
        return reply('help');
      case 'send-usage':
        return reply('sendUsage');
      case 'unknown':
        return reply('unknownCommand', { word: parsed.word });
      case 'send-form': {
        const context: FormContext = { channel: command.channel_id, responseUrl: command.response_url, language };
        try {
          await client.views.open({
            trigger_id: command.trigger_id,
            view: sendForm({ departments: port.departments(), language, context, initialDepartment: departmentOfChannel(command.channel_id)?.code }) as never,
          });
        } catch (error) {
          logger.warn({ phase: 'slack.form', err: slackMessage(error) }, 'views.open failed');
          return reply('modalUnavailable');
        }
        return ack();
      }
      case 'send': {
        if (!findDepartment(parsed.department)) return reply('unknownDepartment', { department: parsed.department });
        if (!parsed.subject && !parsed.body) return reply('emptyBody');
        const letter = commandLetter({ triggerId: command.trigger_id, command: parsed, user, channel: command.channel_id, place: config.replyTo, receivedAt: now() });
        try {
          return await ack(ephemeral(registeredText({ acceptance: await accept(letter), language })));
        } catch (caught) {
          return ack(ephemeral(refusalText({ error: toWaslError(caught), language })));
        }
      }
      case 'status': {
        if (!parsed.number) return reply('missingNumber');
        const letter = await port.findLetter(parsed.number);
        if (!letter) return reply('unknownNumber', { number: parsed.number });
        const inItsDepartment = letter.departments.some((code) => (findDepartment(code)?.channels[SLACK] ?? []).includes(command.channel_id));
        const isSender = letter.sender.channel === SLACK && letter.sender.id === command.user_id;
        return ack(ephemeral(statusText({ letter, language, showSubject: isSender || inItsDepartment })));
      }
      case 'list': {
        const department = departmentOfChannel(command.channel_id);
        if (!department) return reply('noDepartmentHere');
        const letters = await port.listLetters({ department: department.code, open: true, limit: config.listLimit });
        return ack(ephemeral(listText({ letters, department, language })));
      }
    }
  });

  app.view(FORM.callbackId, async ({ ack, body, view }) => {
    const submitted = view as unknown as SubmittedView;
    const values = formValuesOf(submitted);
    const user = await person({ id: body.user.id, fallbackName: body.user.name });
    const language = languageFor(user);
    const context = decodeFormContext(submitted.private_metadata) ?? { channel: body.user.id, responseUrl: undefined, language };
    const fieldError = (block: string, text: string) => ack({ response_action: 'errors', errors: { [block]: text } });
    if (!values.department || !findDepartment(values.department)) {
      return fieldError(FORM.department, say({ language, key: 'unknownDepartment', values: { department: values.department ?? '', departments: departmentsList(port.departments()) } }));
    }
    if (!values.subject && !values.body && values.files.length === 0) return fieldError(FORM.body, say({ language, key: 'emptyBody' }));
    let acceptance: Acceptance;
    try {
      const attachments = await download(values.files);
      acceptance = await accept(formLetter({ viewId: submitted.id, values, user, context, place: config.replyTo, attachments, receivedAt: now() }));
    } catch (caught) {
      const error = isWaslError(caught) ? caught : slackError(caught);
      const block = error.code === 'department.unknown' ? FORM.department : error.code.startsWith('letter.') || error.code.startsWith('slack.file') ? FORM.files : FORM.body;
      // The form stays open with what the person wrote, so they can send it again.
      return fieldError(block, refusalText({ error, language }));
    }
    await ack({ response_action: 'update', view: registeredView({ acceptance, language }) as never });
    const text = registeredText({ acceptance, language });
    await confirm({ context, user, text }).catch((error: unknown) => {
      // The form already shows the number; the ephemeral copy is a courtesy.
      logger.warn({ phase: 'slack.confirm', letter: acceptance.number, err: slackMessage(error) }, 'could not send the confirmation');
    });
  });

  app.action(/^wasl\.(acknowledge|transfer|close)$/, async ({ ack, body, action, respond }) => {
    await ack();
    if (body.type !== 'block_actions' || !('action_id' in action)) return;
    const number = letterNumberOfBlock(action.block_id);
    const letterAction = ACTION_OF[action.action_id];
    const channel = body.container?.channel_id ?? body.channel?.id;
    const ts = body.container?.message_ts ?? body.message?.ts;
    if (!number || !letterAction || !channel || !ts) return;
    const chosen = action.type === 'static_select' ? action.selected_option?.value : undefined;
    // A press is acted on once, whatever Slack or an impatient double click sends again.
    if (!(await port.claimEvent(SLACK, `action:${channel}:${ts}:${action.action_id}:${action.action_ts}:${body.user.id}`))) return;
    const user = await person({ id: body.user.id, fallbackName: body.user.name });
    const blocks = (body.message?.blocks ?? []) as Block[];
    const update = async (updated: Block[]) => {
      try {
        await client.chat.update({ channel, ts, text: body.message?.text ?? number, blocks: updated as never });
      } catch (error) {
        // What the register holds is decided; only its display in Slack lags.
        logger.warn({ phase: 'slack.action', letter: number, err: slackMessage(error) }, 'chat.update failed');
      }
    };
    const request = pressRequest({ action: letterAction, chosen });
    if (!request) {
      // A Close button of a forward posted before closes took an outcome: the message now offers them.
      await respond({ response_type: 'ephemeral', replace_original: false, text: say({ language: languageFor(user), key: 'closeChooseOutcome' }) });
      await update(withCloseOutcomes({ blocks, language: defaultLanguage }));
      return;
    }
    try {
      await port.recordAction({ number, actor: { channel: SLACK, id: user.id, displayName: user.displayName }, ...request });
    } catch (caught) {
      const error = toWaslError(caught);
      const language = languageFor(user);
      const reason = isLifecycleCode(error.code) ? refusalSentence({ language, code: error.code, values: error.details }) : error.message;
      await respond({ response_type: 'ephemeral', replace_original: false, text: say({ language, key: 'actionRefused', values: { reason } }) });
      return;
    }
    const target = request.action === 'transferred' && request.toDepartment ? findDepartment(request.toDepartment) : undefined;
    await update(
      afterAction({
        blocks,
        action: letterAction,
        actorId: user.id,
        at: now(),
        toDepartment: target ? `${target.code} — ${target.names[defaultLanguage] ?? target.code}` : chosen,
        outcome: request.action === 'closed' ? outcomeName({ language: defaultLanguage, outcome: request.outcome }) : undefined,
        language: defaultLanguage,
      }),
    );
  });

  app.event('message', async ({ event, body, context }) => {
    const message = event as unknown as MessageEvent;
    if (!isThreadReplyByPerson(message)) return;
    const answerToken = await port.answerTokenForThread(SLACK, threadKey({ channel: message.channel, ts: message.thread_ts }));
    if (!answerToken) return;
    const user = await person({ id: message.user, fallbackName: undefined });
    const raw = context.rawBody instanceof Buffer ? new Uint8Array(context.rawBody) : undefined;
    try {
      const attachments = await download(messageFileRefs(message));
      await accept(threadAnswerLetter({ eventId: String(body.event_id), event: message, user, answerToken, attachments, raw, receivedAt: now() }));
    } catch (caught) {
      const error = isWaslError(caught) ? caught : slackError(caught);
      // Over HTTP, Slack retries the event when we answer 500; Socket Mode already acknowledged it.
      if (error.temporary && !config.socketMode) throw error;
      // An answer the disk did not confirm is registered all the same: "nothing was sent" would be wrong.
      const text = error.temporary && error.code !== 'register.not_confirmed' ? say({ language: languageFor(user), key: 'answerNotRegistered' }) : refusalText({ error, language: languageFor(user) });
      await client.chat.postEphemeral({ channel: message.channel, user: message.user, thread_ts: message.thread_ts, text });
    }
  });

  let stopping = false;
  let inFlight = 0;
  let drained: (() => void) | undefined;
  let ownServer: Server | undefined;

  function refuseTooLarge(response: ServerResponse): void {
    // The rest of the body is never read: the connection closes once the answer is out.
    response.writeHead(413, { connection: 'close', 'content-type': 'text/plain; charset=utf-8' }).end('Request body too large\n');
  }

  /**
   * Bolt's receiver reads any body whole before it checks the signature (an unsigned 300 MiB
   * POST once took 1.7 GB). The body is read here first, up to `maxBodyBytes`, and handed over
   * as Bolt's `BufferedIncomingMessage`, which its receiver takes as already read.
   */
  function handle(request: IncomingMessage, response: ServerResponse): void {
    if (stopping) {
      // Slack tries again later, by which time the gateway is back.
      response.writeHead(503, { 'retry-after': '10' }).end();
      return;
    }
    if (Number(request.headers['content-length'] ?? 0) > config.maxBodyBytes) {
      logger.info({ phase: 'slack.intake', declaredBytes: Number(request.headers['content-length']) }, 'request refused: body too large');
      refuseTooLarge(response);
      return;
    }
    inFlight += 1;
    response.once('close', () => {
      inFlight -= 1;
      if (inFlight === 0) drained?.();
    });
    void readBody({ request, limit: config.maxBodyBytes }).then((body) => {
      if (body === 'too large') {
        logger.info({ phase: 'slack.intake' }, 'request refused: body too large');
        refuseTooLarge(response);
        return;
      }
      if (body === 'gone') return;
      (request as BufferedIncomingMessage).rawBody = body;
      try {
        (receiver as HTTPReceiver).requestListener(request, response);
      } catch {
        // Bolt throws for anything but a POST to its endpoint: nothing of ours lives there.
        response.writeHead(request.method === 'POST' ? 404 : 405, { allow: 'POST' }).end();
      }
    });
  }

  const ownPort = config.socketMode ? null : config.port;
  if (!config.socketMode && ownPort === null) http.mount(config.path, handle);

  return {
    get listeningPort() {
      return (ownServer?.address() as AddressInfo | null | undefined)?.port;
    },
    socketMode: config.socketMode
      ? {
          start: async () => void (await app.start()),
          stop: async () => {
            await app.stop().catch((error: unknown) => logger.debug({ phase: 'slack.stop', err: slackMessage(error) }, 'receiver already stopped'));
          },
        }
      : undefined,
    async start() {
      if (ownPort !== null) {
        // Our own server rather than the receiver's, so its requests go through the same door.
        const server = createServer(handle);
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(ownPort, config.host, () => {
            server.off('error', reject);
            resolve();
          });
        });
        ownServer = server;
      }
    },
    async stop() {
      stopping = true;
      const closed = ownServer ? new Promise<void>((resolve) => ownServer!.close(() => resolve())) : Promise.resolve();
      ownServer?.closeIdleConnections();
      if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
      await closed;
      ownServer = undefined;
    },
  };
}

/**
 * The request's body, read up to `limit` bytes: 'too large' as soon as it passes them (the rest
 * stays unread), 'gone' when the client left before the end.
 */
function readBody({ request, limit }: { request: IncomingMessage; limit: number }): Promise<Buffer | 'too large' | 'gone'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (result: Buffer | 'too large' | 'gone') => {
      request.off('data', onData).off('end', onEnd).off('error', onGone).off('close', onGone);
      resolve(result);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size <= limit) return void chunks.push(chunk);
      request.pause();
      finish('too large');
    };
    const onEnd = () => finish(Buffer.concat(chunks));
    const onGone = () => finish('gone');
    request.on('data', onData).on('end', onEnd).on('error', onGone).on('close', onGone);
  });
}

function slackMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

