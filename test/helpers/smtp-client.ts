/**
 * A plain SMTP client on a raw socket, so tests see the server's exact reply codes and texts,
 * command by command (nodemailer hides some of them behind its own retries and errors).
 */
import { connect, type Socket } from 'node:net';

export interface SmtpReply {
  code: number;
  text: string;
}

export class SmtpSession {
  private buffer = '';
  private waiting: ((reply: SmtpReply) => void) | undefined;
  private readonly replies: SmtpReply[] = [];
  private closed = false;
  private failWaiting: ((error: Error) => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    // A server that dies mid-session must fail the read, not leave it pending.
    socket.setTimeout(15_000, () => socket.destroy());
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.failWaiting?.(new Error('connection closed before a reply'));
    });
    socket.on('data', (data: string) => {
      this.buffer += data;
      let end: number;
      while ((end = this.buffer.search(/^\d{3} .*\r\n/m)) !== -1) {
        const lineEnd = this.buffer.indexOf('\r\n', end);
        const block = this.buffer.slice(0, lineEnd);
        this.buffer = this.buffer.slice(lineEnd + 2);
        const lines = block.split('\r\n');
        const reply = { code: Number(lines[0]!.slice(0, 3)), text: lines.map((line) => line.slice(4)).join('\n') };
        if (this.waiting) {
          const resolve = this.waiting;
          this.waiting = undefined;
          this.failWaiting = undefined;
          resolve(reply);
        } else this.replies.push(reply);
      }
    });
  }

  static async open(port: number): Promise<{ session: SmtpSession; greeting: SmtpReply }> {
    const socket = connect({ host: '127.0.0.1', port });
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    socket.removeAllListeners('error');
    const session = new SmtpSession(socket);
    return { session, greeting: await session.read() };
  }

  read(): Promise<SmtpReply> {
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.closed) return Promise.reject(new Error('connection closed before a reply'));
    return new Promise((resolve, reject) => {
      this.waiting = resolve;
      this.failWaiting = reject;
    });
  }

  /** Writes raw bytes without waiting for a reply (part of a message body, a broken command). */
  write(text: string): void {
    this.socket.write(Buffer.from(text, 'utf8'));
  }

  async command(line: string): Promise<SmtpReply> {
    this.socket.write(`${line}\r\n`);
    return this.read();
  }

  /** Sends a message body after DATA's 354, dot-stuffed, and returns the final reply. */
  async data(message: string | Buffer): Promise<SmtpReply> {
    const ready = await this.command('DATA');
    if (ready.code !== 354) return ready;
    // Bytes travel as latin1 code units so UTF-8 (8BITMIME) and binary content pass unchanged.
    const text = (Buffer.isBuffer(message) ? message : Buffer.from(message, 'utf8')).toString('latin1');
    const normalized = text.replace(/\r?\n/g, '\r\n');
    const stuffed = normalized.replace(/^\./gm, '..');
    this.socket.write(Buffer.from(`${stuffed}${stuffed.endsWith('\r\n') ? '' : '\r\n'}.\r\n`, 'latin1'));
    return this.read();
  }

  /** Drops the connection without QUIT, as a client that crashes or loses its network does. */
  async drop(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.end(resolve));
    this.socket.destroy();
  }

  async quit(): Promise<void> {
    await this.command('QUIT').catch(() => undefined);
    this.socket.destroy();
  }
}

/** One whole transaction: EHLO, MAIL FROM, RCPT TO each, DATA; returns every reply. */
export async function sendLetter({
  port,
  from,
  to,
  message,
  mailParameters = '',
}: {
  port: number;
  from: string;
  to: string[];
  message: string | Buffer;
  mailParameters?: string;
}): Promise<{ mail: SmtpReply; rcpt: SmtpReply[]; data: SmtpReply | undefined }> {
  const { session } = await SmtpSession.open(port);
  try {
    await session.command('EHLO client.test');
    const mail = await session.command(`MAIL FROM:<${from}>${mailParameters}`);
    const rcpt: SmtpReply[] = [];
    for (const recipient of to) rcpt.push(await session.command(`RCPT TO:<${recipient}>`));
    const data = mail.code === 250 && rcpt.some((reply) => reply.code === 250) ? await session.data(message) : undefined;
    return { mail, rcpt, data };
  } finally {
    await session.quit();
  }
}
