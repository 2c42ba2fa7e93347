/**
 * The libraries alone: what smtp-server, mailauth, mailparser, better-sqlite3 and nodemailer cost
 * a letter when they do only the least a mail office must: each letter is authenticated
 * (SPF/DKIM/DMARC), parsed, committed as one row (its original, hash and subject) with an fsync
 * before the 250, its original relayed to the department, and a short receipt composed and sent to
 * its sender. None of wasl's own work: no number, register chain, signature, receipt page or
 * token, templates, delivery bookkeeping, retries or log.
 *
 * It is a measuring stick for `npm run bench` (`BENCH_SYSTEMS=floor`), not a product: it keeps
 * nothing safe across restarts and numbers nothing. MESSAGES (default 2) says what it sends a
 * letter: 2 the forward and the receipt, 1 the forward only, 0 nothing (the intake chain alone).
 * Usage: node stack-floor-server.mjs PORT SINK_PORT DB_FILE [MESSAGES]
 */
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { connect } from 'node:net';

const require = createRequire(import.meta.url);
const { SMTPServer } = require('smtp-server');
const { simpleParser } = require('mailparser');
const { authenticate } = require('mailauth');
const Database = require('better-sqlite3');
const nodemailer = require('nodemailer');

const [port, sinkPort, dbFile, messagesArgument = '2'] = process.argv.slice(2);
const messagesPerLetter = Number(messagesArgument);

const db = new Database(dbFile);
db.pragma('journal_mode = WAL');
// The same promise as wasl's: the WAL is on disk before the 250.
db.pragma('synchronous = FULL');
db.exec('CREATE TABLE IF NOT EXISTS letters (id INTEGER PRIMARY KEY, message_id TEXT, subject TEXT, sha256 TEXT NOT NULL, original BLOB NOT NULL)');
const insertLetter = db.prepare('INSERT INTO letters (message_id, subject, sha256, original) VALUES (?, ?, ?, ?)');

const relay = nodemailer.createTransport({
  host: '127.0.0.1',
  port: Number(sinkPort),
  pool: true,
  maxConnections: 4,
  maxMessages: Infinity,
  ignoreTLS: true,
  // Without TCP_NODELAY each message's last segment waits for the sink's delayed ACK (~40 ms).
  getSocket: (_options, callback) => callback(null, { connection: connect({ host: '127.0.0.1', port: Number(sinkPort), noDelay: true }) }),
});

// The load's sender domain is a special-use one: every lookup finds nothing, and none leaves the machine.
const offlineResolver = async () => {
  throw Object.assign(new Error('no such name'), { code: 'ENOTFOUND' });
};

class FloorServer extends SMTPServer {
  // smtp-server waits 100 ms before each greeting; wasl and Postfix greet at once, and so does this.
  connect(socket, socketOptions) {
    super.connect(socket, socketOptions);
    for (const connection of this.connections) {
      if (connection.greetsAtOnce) continue;
      connection.greetsAtOnce = true;
      const greet = connection.connectionReady.bind(connection);
      connection.connectionReady = () => {};
      setImmediate(greet);
    }
  }
}

async function register(raw, session) {
  await authenticate(raw, { ip: session.remoteAddress, helo: session.hostNameAppearsAs, sender: session.envelope.mailFrom.address, mta: 'floor.test', resolver: offlineResolver });
  const parsed = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true });
  const sha256 = createHash('sha256').update(raw).digest('hex');
  insertLetter.run(parsed.messageId ?? null, parsed.subject ?? null, sha256, raw);
  return { subject: parsed.subject ?? '', sha256 };
}

const relayed = (sending) => sending.catch((error) => process.stderr.write(`relay: ${error.message}\n`));

const server = new FloorServer({
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  disableReverseLookup: true,
  logger: false,
  size: 10 * 1024 * 1024,
  async onData(stream, session, callback) {
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    const raw = Buffer.concat(chunks);
    // smtp-server clears the envelope once the 250 is given.
    const sender = session.envelope.mailFrom.address;
    let stored;
    try {
      stored = await register(raw, session);
    } catch (error) {
      return callback(Object.assign(new Error(`4.3.0 ${error.message}`), { responseCode: 451 }));
    }
    callback(null, 'Stored');
    if (messagesPerLetter >= 1) relayed(relay.sendMail({ envelope: { from: 'floor@floor.test', to: ['dept@sink.test'] }, raw }));
    if (messagesPerLetter >= 2) relayed(relay.sendMail({ from: 'receipts@floor.test', to: sender, subject: `Received: ${stored.subject}`, text: `Your letter (SHA-256 ${stored.sha256}) was received on ${new Date().toISOString()}.` }));
  },
});

server.listen(Number(port), '127.0.0.1');
process.once('SIGTERM', () => {
  server.close();
  relay.close();
  db.close();
  process.exit(0);
});
