/**
 * The gateway's SMTP server. Recipients are checked at RCPT time (no open relay, unknown
 * addresses refused with a hint); the 250 is sent only after the core has committed the letter,
 * and carries its registration number. Every path ends in exactly one SMTP answer.
 * Hostile mail is met at the door: sessions and letters per client and per sender are limited,
 * a message built to exhaust the MIME parser is refused before parsing, bounces of our own
 * messages mark the delivery they are about, and SPF/DKIM/DMARC are checked for every letter.
 */
import type { Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { SMTPConnection, SMTPConnectionOptions } from 'smtp-server/lib/smtp-connection.js';
import type { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import type { AdapterMetrics, GatewayPort, GatewaySettings, RateBuckets, RateLimits, TokenTaken } from '../../src/channels/port.js';
import { toWaslError } from '../../src/errors.js';
import type { SenderAuthenticator } from './authentication.js';
import { MAX_BOUNCE_RECIPIENTS, readDeliveryStatus, returnedDelivery, type DeliveryStatusNotice } from './bounces.js';
import type { EmailConfig } from './index.js';
import { mimeShape } from './mime-shape.js';
import { createSessionCounter, describeWait } from './rate-limits.js';
import { emailToLetter } from './to-letter.js';
import type { Verp } from './verp.js';

/**
 * An SMTP error reply: smtp-server sends `responseCode` and adds the enhanced status code (RFC
 * 3463) itself, from the reply code alone; a message that starts with its own enhanced code
 * (`5.7.1 ...`) keeps it (see IntakeSmtpServer).
 */
function smtpError(responseCode: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode });
}

const OWN_ENHANCED_CODE = /^([245])\.\d{1,3}\.\d{1,3} /;

/**
 * smtp-server (3.21.6, the latest) adjusted on each connection, where it offers no option or
 * hook; each adjustment names the hook it lacks:
 * - Enhanced status codes (no `err.enhancedCode`): it maps each reply code to one enhanced code
 *   (550 is always 5.1.1 "bad mailbox", 450 always 4.2.1), which would misname a DMARC refusal
 *   (5.7.1) or a rate limit (4.7.1). A reply whose text already starts with a code of the same
 *   class is left alone.
 * - The greeting (no `greetingDelay` option): it greets after a fixed 100 ms pause (a client that
 *   talks before it is refused, an old spam-bot test); on a new connection per letter that pause
 *   alone capped a session at 10 letters a second. The greeting comes after `greetingDelayMs`
 *   instead. With implicit TLS, connect() is called once the handshake is done, so the pause and
 *   the greeting are inside the TLS session.
 * - Line ends (no strict-CRLF option): its parser splits commands on /\r?\n/, so `EHLO x\n`
 *   runs; RFC 5321 section 2.3.8 says a server must not take a bare LF as a line end. A command
 *   line ended by a bare LF is answered 500 and not run, before and after STARTTLS.
 */
class IntakeSmtpServer extends SMTPServer {
  private readonly patched = new WeakSet<SMTPConnection>();

  constructor(
    options: ConstructorParameters<typeof SMTPServer>[0],
    private readonly greetingDelayMs: number,
  ) {
    super(options);
  }

  override connect(socket: Socket, socketOptions?: SMTPConnectionOptions | null): void {
    super.connect(socket, socketOptions);
    // A connection refused beyond maxClients has already left the set.
    for (const connection of this.connections) {
      if (this.patched.has(connection)) continue;
      this.patched.add(connection);
      const send = connection.send.bind(connection);
      connection.send = (code, data, context) => {
        const own = typeof data === 'string' ? OWN_ENHANCED_CODE.exec(data) : null;
        return send(code, data, own && own[1] === String(code)[0] ? false : context);
      };
      const createParser = connection._createParser.bind(connection);
      connection._createParser = () => refuseBareLineFeeds(connection, createParser());
      if (connection._parser) refuseBareLineFeeds(connection, connection._parser);
      // smtp-server's own pause ends in this call; the greeting is ours to time. A connection
      // closing meanwhile is not greeted (connectionReady checks).
      const greet = connection.connectionReady.bind(connection);
      connection.connectionReady = () => {};
      // No pause: on the next turn (a 0 ms timer waits a whole millisecond in Node).
      if (this.greetingDelayMs > 0) setTimeout(greet, this.greetingDelayMs).unref();
      else setImmediate(greet);
    }
  }
}

/**
 * Answers 500 to a command line that ends in a bare LF instead of running it. The parser hands
 * over each line without its end, so the text it splits is kept beside it to see how each line
 * ended (its `_write` takes the text in the order it arrives, one piece at a time).
 */
function refuseBareLineFeeds(connection: SMTPConnection, parser: SMTPStream): SMTPStream {
  let text = '';
  let nextLine = 0;
  const write = parser._write.bind(parser);
  parser._write = (chunk, encoding, next) => {
    if (!parser._dataMode) {
      // What the parser splits: the partial line it kept, then this chunk.
      text = parser._remainder + chunk.toString('binary');
      nextLine = 0;
    }
    write(chunk, encoding, next);
  };
  const run = parser.oncommand.bind(parser);
  parser.oncommand = (line, done) => {
    const end = nextLine + line.length;
    const bareLineFeed = text[end] === '\n';
    nextLine = end + (bareLineFeed ? 1 : 2);
    if (!bareLineFeed) return run(line, done);
    connection.send(500, 'Line ends in a bare LF: SMTP commands end with CRLF (RFC 5321 section 2.3.8); the command was not run');
    // As smtp-server does after its own refusals: the next line waits until the client has read
    // the replies, so one that never reads cannot pile them up in memory.
    setImmediate(() => connection._whenWritable(() => done?.()));
  };
  return parser;
}

/** The SMTP answer for a core error: permanent problems 5xx, anything else 451 so the sender retries. */
export function smtpReplyFor(error: unknown): Error & { responseCode: number } {
  const coded = toWaslError(error);
  if (coded.code === 'department.unknown') return smtpError(550, `${coded.message}: no such department here`);
  if (coded.code === 'letter.too_large') return smtpError(552, coded.message);
  if (coded.code === 'register.not_confirmed') {
    return smtpError(451, `4.3.0 The letter is registered as ${String(coded.details?.number)}, but the disk did not confirm it; please try again later: the same message gets the same number`);
  }
  if (coded.code === 'register.outcome_unknown') {
    return smtpError(451, '4.3.0 The register did not confirm the letter; please try again later: if it was registered, the same message gets the same number');
  }
  if (!coded.temporary) return smtpError(554, coded.message);
  return smtpError(451, '4.3.0 The letter could not be stored right now; nothing was registered. Please try again later');
}

/** What RCPT TO learnt in one mail transaction (MAIL FROM to the end of DATA), so DATA need not route the recipients again. */
interface TransactionState {
  departmentRecipients?: string[];
  answerToken?: string;
  /** The deliveries whose VERP addresses (tokens checked) this message is sent to. */
  bounceOf?: Set<number>;
}

const BOUNCE_KINDS = new Set(['bounce', 'report']);

/** Parsing is pure: a message mailparser cannot read now it will never read, so the refusal is permanent (no 451 loop). */
async function parseMessage(raw: Buffer): Promise<ParsedMail> {
  try {
    return await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message.slice(0, 120) : 'unreadable';
    throw smtpError(554, `5.6.0 The letter could not be read as MIME (${reason}); nothing was registered`);
  }
}

export function createSmtpIntake({
  config: emailConfig,
  settings,
  port,
  logger,
  now,
  verifySender,
  verp,
  dataTo250,
  rateLimits,
}: {
  config: EmailConfig;
  settings: GatewaySettings;
  port: GatewayPort;
  logger: Logger;
  now: () => Date;
  /** SPF/DKIM/DMARC for every letter; absent when the checks are off. */
  verifySender?: SenderAuthenticator | undefined;
  /** The bounce addresses of our deliveries. */
  verp: Verp;
  /** Measures each letter from the end of its DATA to its 250. */
  dataTo250: ReturnType<AdapterMetrics['duration']>;
  /** Connections and letters per client, letters per sender. */
  rateLimits: RateLimits;
}) {
  const config = emailConfig.smtp;
  const { limits, mime } = emailConfig;
  const states = new WeakMap<SMTPServerSession, TransactionState>();
  const stateOf = (session: SMTPServerSession) => {
    let state = states.get(session);
    if (!state) states.set(session, (state = {}));
    return state;
  };
  const tls = config.tls ? { key: readFileSync(config.tls.key), cert: readFileSync(config.tls.cert) } : undefined;
  let boundPort = 0;
  /** Set on stop: new sessions get 421, sessions already in DATA finish. */
  let closing = false;
  let inData = 0;
  let drained: (() => void) | undefined;

  const minute = 60_000;
  const exempt = new Set(limits.exemptClients);
  const openSessions = createSessionCounter();
  const countedSessions = new WeakSet<SMTPServerSession>();
  const { trackedKeys } = limits;
  const connectionsPerClient = rateLimits.buckets({ kind: 'connections-per-client', limit: limits.connectionsPerClientPerMinute, windowMs: minute, trackedKeys });
  const lettersPerClient = rateLimits.buckets({ kind: 'letters-per-client', limit: limits.lettersPerClientPerMinute, windowMs: minute, trackedKeys });
  const lettersPerSender = rateLimits.buckets({ kind: 'letters-per-sender', limit: limits.lettersPerSenderPerHour, windowMs: 60 * minute, trackedKeys });

  /**
   * Takes a token, or says why the register could not be asked: refused for now (4.3.0), since
   * letting the client through would lift the limit for as long as the register is away.
   */
  async function takeFrom(buckets: RateBuckets, key: string): Promise<TokenTaken> {
    try {
      return await buckets.take(key);
    } catch (error) {
      logger.warn({ phase: 'limits', err: error }, 'rate limit not checked: the register did not answer');
      throw new Error('4.3.0 The limits on new mail cannot be checked right now (the register does not answer); nothing was registered, please try again later');
    }
  }

  /**
   * Why this client may not open one more session now, if it may not. The session is counted
   * open before the rate is asked, so sessions arriving together are counted against each other.
   */
  async function sessionRefusal(session: SMTPServerSession): Promise<string | undefined> {
    const client = session.remoteAddress;
    if (exempt.has(client)) return undefined;
    if (openSessions.count(client) >= limits.sessionsPerClient) {
      return `4.7.0 Too many open sessions from ${client} (at most ${limits.sessionsPerClient}); please try again later`;
    }
    openSessions.opened(client);
    countedSessions.add(session);
    const { allowed, waitMs } = await takeFrom(connectionsPerClient, client);
    return allowed ? undefined : `4.7.0 Too many new sessions from ${client}; please try again in ${describeWait(waitMs)}`;
  }

  function countSessionOut(session: SMTPServerSession): void {
    if (countedSessions.delete(session)) openSessions.closed(session.remoteAddress);
  }

  /** Why this letter may not start now, if it may not: each letter takes from its client's and its sender's allowance. */
  async function letterRefusal({ client, sender }: { client: string; sender: string }): Promise<string | undefined> {
    if (exempt.has(client)) return undefined;
    const fromClient = await takeFrom(lettersPerClient, client);
    if (!fromClient.allowed) return `4.7.1 Too many letters from ${client}; please try again in ${describeWait(fromClient.waitMs)}`;
    // Bounces share the null sender: they are counted per client instead.
    const senderKey = sender === '' ? `<>@${client}` : sender.toLowerCase();
    const fromSender = await takeFrom(lettersPerSender, senderKey);
    if (!fromSender.allowed) return `4.7.1 Too many letters from <${sender}>; please try again in ${describeWait(fromSender.waitMs)}`;
    return undefined;
  }

  const returnedDeliveryOf = (notice: DeliveryStatusNotice) =>
    returnedDelivery({
      notice,
      domain: settings.domain,
      deliveryOfAddress: verp.deliveryOf,
    });

  /**
   * Fails the deliveries a report is `about` (among those it was `addressed` to) when it is a DSN
   * saying so; answers 250 either way: refusing a report would only make its server bounce it to
   * whoever sent it, possibly someone forged.
   */
  async function actOnBounce({ notice, addressed, about }: { notice: DeliveryStatusNotice | undefined; addressed: number[]; about: number[] }): Promise<string> {
    const unchanged = (outcome: string) => {
      logger.info({ phase: 'bounce', deliveries: addressed, outcome }, 'report changes no delivery');
      return `Report noted; it changes no delivery (${outcome})`;
    };
    if (!notice) return unchanged('not a delivery status notification');
    if (!notice.failed) return unchanged('no recipient failed');
    if (about.length === 0) return unchanged('the message it returns is not the one sent from that address');
    const marked = await port.reportUndeliverable({ deliveryIds: about, reason: notice.reason });
    if (marked.length === 0) return unchanged('not sent yet, or failed already');
    logger.info({ phase: 'bounce', deliveries: marked.map((each) => each.deliveryId), letters: marked.map((each) => each.number) }, 'delivery failed after all');
    return 'Delivery report recorded';
  }

  /**
   * A report sent only to bounce addresses: a delivery is failed by a DSN (RFC 3464) that returns
   * that very delivery's message (by Message-ID or Return-Path), never by free text.
   */
  function reportToBounceAddresses({ raw, deliveryIds }: { raw: Buffer; deliveryIds: number[] }): Promise<string> {
    const notice = readDeliveryStatus(raw);
    const returned = notice && returnedDeliveryOf(notice);
    const about = returned ? deliveryIds.filter((id) => id === returned.byMessageId || id === returned.byReturnPath) : [];
    return actOnBounce({ notice, addressed: deliveryIds, about });
  }

  /**
   * A bounce that reached a department address (some servers return mail to the From address):
   * when it is a DSN returning one of our messages with its VERP Return-Path, it is a report on
   * that delivery and nothing is registered. Our Message-ID alone is not enough (anyone can write
   * one): such a bounce, like any other, is set aside for the mail office, never forwarded nor
   * receipted. Returns the SMTP answer when the report was ours.
   */
  async function recordIfOurs(raw: Buffer): Promise<string | undefined> {
    const notice = readDeliveryStatus(raw);
    const deliveryId = notice && returnedDeliveryOf(notice).byReturnPath;
    return deliveryId === undefined ? undefined : actOnBounce({ notice, addressed: [deliveryId], about: [deliveryId] });
  }

  /**
   * The message, kept only up to the size limit: past it the rest is read and dropped, so memory
   * does not grow with what a sender sends, and the 552 comes once DATA has ended.
   */
  async function readWithinLimit(stream: SMTPServerDataStream): Promise<Buffer> {
    const chunks: Buffer[] = [];
    let kept = 0;
    // smtp-server sets sizeExceeded as soon as the bytes received pass the limit.
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      if (stream.sizeExceeded) continue;
      chunks.push(chunk);
      kept += chunk.length;
    }
    if (stream.sizeExceeded) {
      logger.info({ phase: 'intake', bytesReceived: stream.byteLength, bytesKept: kept, limit: config.maxSize }, 'letter over the size limit refused');
      throw smtpError(552, `5.3.4 The letter is larger than the limit of ${config.maxSize} bytes; nothing was registered`);
    }
    return Buffer.concat(chunks, kept);
  }

  async function receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const raw = await readWithinLimit(stream);
    const end = dataTo250.start();
    const answer = await take(raw, session);
    end();
    return answer;
  }

  /** A letter whose DATA has ended: registered (or recorded as a report), and the 250's text. */
  async function take(raw: Buffer, session: SMTPServerSession): Promise<string> {
    const state = stateOf(session);
    const envelope = {
      mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      rcptTo: session.envelope.rcptTo.map((recipient) => recipient.address),
    };
    const shape = mimeShape({ raw, maxParts: mime.maxParts, maxDepth: mime.maxDepth });
    if (shape.exceeds === 'parts') throw smtpError(552, `5.3.4 The letter has more than ${mime.maxParts} MIME parts; please send fewer attachments per letter`);
    if (shape.exceeds === 'depth') throw smtpError(552, `5.3.4 The letter's MIME parts are nested more than ${mime.maxDepth} levels deep; nothing was registered`);
    const departmentRecipients = state.departmentRecipients ?? [];
    if (state.bounceOf && departmentRecipients.length === 0 && !state.answerToken) {
      // Only bounce addresses: a report about our messages, never a letter.
      return reportToBounceAddresses({ raw, deliveryIds: [...state.bounceOf] });
    }
    const verdicts = verifySender
      ? await verifySender({ raw, clientAddress: session.remoteAddress, helo: session.hostNameAppearsAs || undefined, mailFrom: envelope.mailFrom })
      : undefined;
    if (verdicts?.dmarcFailed && emailConfig.dmarcPolicy === 'reject') {
      const { domain, summary } = verdicts.authentication;
      throw smtpError(550, `5.7.1 The letter fails DMARC for ${domain ?? 'its sender domain'} (${summary ?? 'no aligned SPF or DKIM pass'}); nothing was registered`);
    }
    const parsed = await parseMessage(raw);
    const letter = emailToLetter({
      parsed,
      raw,
      envelope: { ...envelope, rcptTo: departmentRecipients },
      receivedAt: now(),
      answerToken: state.answerToken,
      authentication: verdicts?.authentication,
    });
    letter.quarantined = verdicts?.dmarcFailed === true && emailConfig.dmarcPolicy === 'quarantine';
    if (letter.automated && BOUNCE_KINDS.has(letter.automated)) {
      const recorded = letter.automated === 'bounce' ? await recordIfOurs(raw) : undefined;
      if (recorded) return recorded;
      letter.quarantined = true;
    }
    const acceptance = await port.accept(letter);
    logger.info({ letter: acceptance.number, phase: 'intake', duplicate: acceptance.duplicate }, 'letter accepted');
    return acceptance.duplicate ? `Already registered as ${acceptance.number}` : `Registered as ${acceptance.number}`;
  }

  const server = new IntakeSmtpServer(
    {
      name: settings.domain,
      banner: 'wasl mail office',
      size: config.maxSize,
      authOptional: true,
      disabledCommands: tls && !config.tls?.implicit ? ['AUTH'] : ['AUTH', 'STARTTLS'],
      ...(tls ?? {}),
      secure: config.tls?.implicit ?? false,
      disableReverseLookup: !config.reverseLookup,
      // RFC 3463 codes (550 5.1.1, 451 4.3.0) tell clients precisely what went wrong; smtp-server hides them unless asked.
      hideENHANCEDSTATUSCODES: false,
      maxClients: config.maxClients,
      socketTimeout: config.socketTimeoutMs,
      closeTimeout: config.closeTimeoutMs,
      logger: false,
      onConnect(session, callback) {
        if (closing) return callback(smtpError(421, `${settings.domain} is shutting down, please try again later`));
        const refuse = (code: number, text: string) => {
          countSessionOut(session);
          callback(smtpError(code, text));
        };
        sessionRefusal(session).then(
          (refusal) => (refusal ? refuse(421, refusal) : callback()),
          // 421, as every refusal at the greeting: the service is not available now, and the connection closes (RFC 5321 §3.8).
          (error: Error) => refuse(421, error.message),
        );
      },
      onClose(session) {
        countSessionOut(session);
      },
      onMailFrom(address, session, callback) {
        // A new transaction: nothing learnt for the previous letter of this session carries over.
        states.delete(session);
        letterRefusal({ client: session.remoteAddress, sender: address.address ?? '' }).then(
          (refusal) => callback(refusal ? smtpError(450, refusal) : null),
          (error: Error) => callback(smtpError(451, error.message)),
        );
      },
      onRcptTo(address, session, callback) {
        // Only a token we made names a delivery. A forged one, and the bare ids of earlier versions
        // (`bounce+42@`, still on messages in flight at the upgrade), reach nothing: a bounce we cannot
        // authenticate is not acted on, and refusing it at RCPT sends nothing back to anyone (a
        // bounce has the null sender, RFC 5321 §4.5.5). Such a delivery stays "sent", as it would if
        // the remote server sent no bounce at all.
        const bounced = verp.deliveryOf(address.address);
        if (bounced !== undefined) {
          // Each costs one HMAC here and one look-up at DATA; past the cap, only a way to make us work.
          const bounceOf = (stateOf(session).bounceOf ??= new Set());
          if (bounceOf.size >= MAX_BOUNCE_RECIPIENTS && !bounceOf.has(bounced)) {
            return callback(smtpError(452, `4.5.3 Too many recipients: at most ${MAX_BOUNCE_RECIPIENTS} bounce addresses in one message (RFC 5321 §4.5.3.1.10); send the others in another`));
          }
          bounceOf.add(bounced);
          return callback();
        }
        const route = port.routeRecipient(address.address);
        switch (route.kind) {
          case 'department':
            (stateOf(session).departmentRecipients ??= []).push(address.address);
            return callback();
          case 'answer':
            stateOf(session).answerToken = route.token;
            return callback();
          case 'unknown':
            return callback(
              smtpError(550, `<${address.address}> reaches no department of ${settings.domain}; the list of addresses is at ${settings.publicUrl}/`),
            );
          case 'foreign':
            return callback(smtpError(550, `<${address.address}>: this gateway accepts mail for @${settings.domain} only (no relay)`));
        }
      },
      onData(stream, session, callback) {
        inData += 1;
        // Each byte a sender dribbles restarts the idle timeout, so DATA as a whole has a time
        // limit too: past it the sender gets 421 and the connection closes (smtp-server sends
        // the 421 of the error that ends the stream, and closes on any 421).
        const deadline = setTimeout(() => {
          stream.destroy(smtpError(421, `4.4.2 The letter took longer than ${config.dataTimeoutMs / 1000} s to send; nothing was registered, closing the connection`));
        }, config.dataTimeoutMs);
        deadline.unref();
        stream.once('end', () => clearTimeout(deadline)).once('close', () => clearTimeout(deadline));
        // Answer first, then count the session out: a stop waiting for it must not close the connection before its 250.
        const answer = (error: Error | null, message?: string) => {
          callback(error, message);
          inData -= 1;
          if (inData === 0) drained?.();
        };
        receive(stream, session).then(
          (message) => answer(null, message),
          (error: unknown) => {
            // Drain whatever is left so smtp-server can send our answer (it waits for the stream's end).
            stream.resume();
            if (error instanceof Error && 'responseCode' in error) return answer(error);
            logger.warn({ phase: 'intake', err: error }, 'letter refused');
            answer(smtpReplyFor(error));
          },
        );
      },
    },
    config.greetingDelayMs,
  );
  server.on('error', (error) => logger.error({ err: error }, 'SMTP server error'));

  return {
    get port() {
      return boundPort;
    },
    listen(): Promise<number> {
      return new Promise((resolve, reject) => {
        server.server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.server.off('error', reject);
          const address = server.server.address();
          boundPort = typeof address === 'object' && address ? address.port : config.port;
          resolve(boundPort);
        });
      });
    },
    /**
     * Stops intake: new sessions get 421 at once, letters already in DATA are finished and
     * answered (up to closeTimeoutMs), then the server closes; idle sessions get 421 too.
     */
    async close(): Promise<void> {
      closing = true;
      if (inData > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => (drained = resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, config.closeTimeoutMs))),
        ]);
        clearTimeout(timer);
      }
      // Sessions still open are idle between letters: smtp-server tells them 421 and closes.
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const connection of server.connections) {
          connection.send(421, `${settings.domain} is shutting down, please try again later`);
          connection.close();
        }
      });
    },
  };
}
