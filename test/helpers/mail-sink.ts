/**
 * A real SMTP server standing in for the department's mailbox and the sender's: it keeps every
 * message it accepts, and can be told to refuse (4xx or 5xx) or be stopped and started again on
 * the same port to play a server that is down for a while.
 */
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { waitFor } from './wait.js';

export interface SunkMessage {
  mailFrom: string;
  rcptTo: string[];
  raw: Buffer;
  parsed: ParsedMail;
}

export type SinkMode = 'accept' | 'tempfail' | 'reject';

export interface MailSink {
  readonly port: number;
  readonly url: string;
  readonly messages: SunkMessage[];
  /** How many sessions reached DATA while refusing. */
  readonly refused: number;
  mode: SinkMode;
  to(address: string): SunkMessage[];
  waitForMessages(count: number, options?: { to?: string; timeoutMs?: number }): Promise<SunkMessage[]>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function startMailSink({ port = 0 }: { port?: number } = {}): Promise<MailSink> {
  const messages: SunkMessage[] = [];
  let refused = 0;
  let server: SMTPServer | undefined;
  let boundPort = port;

  const sink: MailSink = {
    get port() {
      return boundPort;
    },
    get url() {
      return `smtp://127.0.0.1:${boundPort}`;
    },
    messages,
    get refused() {
      return refused;
    },
    mode: 'accept',
    to: (address) => messages.filter((message) => message.rcptTo.includes(address.toLowerCase())),
    async waitForMessages(count, { to, timeoutMs } = {}) {
      await waitFor(() => (to ? sink.to(to) : messages).length >= count, { timeoutMs, what: `${count} message(s)${to ? ` to ${to}` : ''} in the sink` });
      return to ? sink.to(to) : messages;
    },
    async start() {
      server = new SMTPServer({
        authOptional: true,
        disabledCommands: ['AUTH', 'STARTTLS'],
        disableReverseLookup: true,
        logger: false,
        onData(stream, session, callback) {
          const chunks: Buffer[] = [];
          stream.on('data', (chunk: Buffer) => chunks.push(chunk));
          stream.on('end', () => {
            if (sink.mode !== 'accept') {
              refused += 1;
              const error = Object.assign(new Error(sink.mode === 'tempfail' ? 'Mailbox busy, try later' : 'No such mailbox'), {
                responseCode: sink.mode === 'tempfail' ? 451 : 550,
              });
              return callback(error);
            }
            const raw = Buffer.concat(chunks);
            simpleParser(raw).then(
              (parsed) => {
                messages.push({
                  mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                  rcptTo: session.envelope.rcptTo.map((recipient) => recipient.address.toLowerCase()),
                  raw,
                  parsed,
                });
                callback();
              },
              (error: Error) => callback(error),
            );
          });
        },
      });
      // A client killed mid-session (the crash test SIGKILLs the gateway) resets its connection; smtp-server
      // reports that on the server, and an unheard 'error' event would bring the test process down.
      server.on('error', () => undefined);
      await new Promise<void>((resolve) => server!.listen(boundPort, '127.0.0.1', resolve));
      const address = server.server.address();
      boundPort = typeof address === 'object' && address ? address.port : boundPort;
    },
    stop() {
      return new Promise((resolve) => {
        if (!server) return resolve();
        for (const connection of (server as unknown as { connections: Set<{ close(): void }> }).connections) connection.close();
        server.close(() => resolve());
        server = undefined;
      });
    },
  };
  await sink.start();
  return sink;
}
