/**
 * The gateway's SMTP server. Recipients are checked at RCPT time (no open relay, unknown
 * addresses refused with a hint); the 250 is sent only after the core has committed the letter,
 * and carries its registration number. Every path ends in exactly one SMTP answer.
 */
import { readFileSync } from 'node:fs';
import { simpleParser } from 'mailparser';
import type { Logger } from 'pino';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { GatewayPort, GatewaySettings } from '../../src/channels/port.js';
import { toWaslError } from '../../src/errors.js';
import type { EmailConfig } from './index.js';
import { emailToLetter } from './to-letter.js';

/** An SMTP error reply: smtp-server sends `responseCode` and adds the enhanced status code itself. */
function smtpError(responseCode: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode });
}

/** The SMTP answer for a core error: permanent problems 5xx, anything else 451 so the sender retries. */
export function smtpReplyFor(error: unknown): Error & { responseCode: number } {
  const coded = toWaslError(error);
  if (coded.code === 'department.unknown') return smtpError(550, `${coded.message}: no such department here`);
  if (coded.code === 'letter.too_large') return smtpError(552, coded.message);
  if (!coded.temporary) return smtpError(554, coded.message);
  return smtpError(451, 'The letter could not be stored right now; nothing was registered. Please try again later');
}

interface SessionState {
  answerToken?: string;
  bounceOf?: number[];
}

export function createSmtpIntake({
  config,
  settings,
  port,
  logger,
  now,
}: {
  config: EmailConfig['smtp'];
  settings: GatewaySettings;
  port: GatewayPort;
  logger: Logger;
  now: () => Date;
}) {
  const states = new WeakMap<SMTPServerSession, SessionState>();
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

  async function receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    if (stream.sizeExceeded) throw smtpError(552, `The letter is larger than the limit of ${config.maxSize} bytes`);
    const raw = Buffer.concat(chunks);
    const state = stateOf(session);
    const envelope = {
      mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      rcptTo: session.envelope.rcptTo.map((recipient) => recipient.address),
    };
    const departmentRecipients = envelope.rcptTo.filter((address) => port.routeRecipient(address).kind === 'department');
    if (state.bounceOf && departmentRecipients.length === 0 && !state.answerToken) {
      // Only bounce addresses: a report about one of our messages, not a letter.
      for (const deliveryId of state.bounceOf) await port.reportUndeliverable({ deliveryId, reason: raw.subarray(0, 2000).toString('utf8') });
      return 'Delivery report recorded';
    }
    const parsed = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true });
    const letter = emailToLetter({ parsed, raw, envelope: { ...envelope, rcptTo: departmentRecipients }, receivedAt: now(), answerToken: state.answerToken });
    const acceptance = await port.accept(letter);
    logger.info({ letter: acceptance.number, channel: 'email', phase: 'intake', duplicate: acceptance.duplicate }, 'letter accepted');
    return acceptance.duplicate ? `Already registered as ${acceptance.number}` : `Registered as ${acceptance.number}`;
  }

  const server = new SMTPServer({
    name: settings.domain,
    banner: 'wasl mail office',
    size: config.maxSize,
    authOptional: true,
    disabledCommands: tls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
    ...(tls ?? {}),
    disableReverseLookup: !config.reverseLookup,
    // RFC 3463 codes (550 5.1.1, 451 4.3.0) tell clients precisely what went wrong; smtp-server hides them unless asked.
    hideENHANCEDSTATUSCODES: false,
    maxClients: config.maxClients,
    socketTimeout: config.socketTimeoutMs,
    closeTimeout: config.closeTimeoutMs,
    logger: false,
    onConnect(_session, callback) {
      if (closing) return callback(smtpError(421, `${settings.domain} is shutting down, please try again later`));
      callback();
    },
    onRcptTo(address, session, callback) {
      const route = port.routeRecipient(address.address);
      switch (route.kind) {
        case 'department':
          return callback();
        case 'answer':
          stateOf(session).answerToken = route.token;
          return callback();
        case 'bounce':
          (stateOf(session).bounceOf ??= []).push(Number(route.deliveryId));
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
          logger.warn({ channel: 'email', phase: 'intake', err: error }, 'letter refused');
          answer(smtpReplyFor(error));
        },
      );
    },
  });
  server.on('error', (error) => logger.error({ channel: 'email', err: error }, 'SMTP server error'));

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
        for (const connection of (server as unknown as { connections: Set<{ send(code: number, text: string): void; close(): void }> }).connections) {
          connection.send(421, `${settings.domain} is shutting down, please try again later`);
          connection.close();
        }
      });
    },
  };
}
