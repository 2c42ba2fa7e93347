/**
 * The email channel: the gateway's own SMTP server for intake, nodemailer for sending.
 * Its settings live under `adapters.email`.
 */
import * as z from 'zod';
import { defineAdapter, type AdapterDefinition, type AdapterMetrics } from '../../src/channels/port.js';
import { maskUrlCredentials } from '../../src/config/secrets.js';
import { cachingDnsResolver, createSenderAuthenticator, systemDnsResolver, type DnsResolver, type SenderAuthenticator } from './authentication.js';
import { createMailSender } from './smtp-outgoing.js';
import { createSmtpIntake } from './smtp-intake.js';
import { createVerp, VERP_PURPOSE } from './verp.js';

const emailConfigSchema = z
  .strictObject({
    /** Turn the email channel off entirely (chat-only installations). */
    enabled: z.boolean().default(true),
    smtp: z
      .strictObject({
        host: z.string().min(1).default('127.0.0.1'),
        /** 0 picks a free port (tests). */
        port: z.coerce.number().int().min(0).max(65535).default(2525),
        /** Largest letter accepted, in bytes; larger ones get 552. */
        maxSize: z.number().int().min(1024).default(25 * 1024 * 1024),
        /** Look up each client's name in DNS. Off: a mail office should not depend on DNS to take a letter. */
        reverseLookup: z.boolean().default(false),
        /** Concurrent SMTP sessions at most; more are refused with 421. */
        maxClients: z.number().int().min(1).default(200),
        /**
         * Pause before the 220 greeting, in milliseconds. A client that talks before it is refused
         * (an old spam-bot test). 100 is smtp-server's own pause; 0 greets at once, as Postfix does.
         */
        greetingDelayMs: z.number().int().min(0).max(30_000).default(100),
        /** An idle session is closed after this many milliseconds. */
        socketTimeoutMs: z.number().int().min(1000).default(60_000),
        /**
         * Time a sender has to send one letter's DATA, in milliseconds (25 MiB in 5 minutes needs
         * about 700 kbit/s). Past it: 421, the connection closes, nothing is registered.
         */
        dataTimeoutMs: z.number().int().min(1000).default(300_000),
        /** On stop, how long sessions in progress may finish, in milliseconds. */
        closeTimeoutMs: z.number().int().min(0).default(15_000),
        /** STARTTLS with this key and certificate (PEM files). Without it STARTTLS is not offered. */
        tls: z
          .strictObject({
            key: z.string().min(1),
            cert: z.string().min(1),
            /** TLS from the first byte (RFC 8314, as on port 465) instead of STARTTLS. */
            implicit: z.boolean().default(false),
          })
          .optional(),
      })
      .prefault({}),
    outbound: z
      .strictObject({
        /** The relay for outgoing mail, e.g. smtp://127.0.0.1:2526. None: mail is kept in the built-in mailbox (/mailbox). */
        url: z.string().regex(/^smtps?:\/\//, 'must start with smtp:// or smtps://').nullable().default(null),
        /** Connections kept open to the relay. */
        maxConnections: z.number().int().min(1).default(5),
        /** Connection, greeting and socket timeout, in milliseconds. */
        timeoutMs: z.number().int().min(100).default(30_000),
        /** Check the relay's TLS certificate. */
        verifyCertificate: z.boolean().default(true),
      })
      .prefault({}),
    /** What is done with a letter that fails DMARC when its domain asks receivers to act (p=quarantine or p=reject). */
    dmarcPolicy: z.enum(['accept', 'quarantine', 'reject']).default('accept'),
    authentication: z
      .strictObject({
        /** Check SPF, DKIM and DMARC for every letter and record the verdicts on it and its receipt. */
        enabled: z.boolean().default(true),
        /** DNS servers to ask (e.g. ['10.0.0.53', '127.0.0.1:5353']); empty: the system's resolvers. */
        dnsServers: z.array(z.string().min(1)).default([]),
        /** How long one DNS question may take before its verdict is `temperror`, in milliseconds. */
        dnsTimeoutMs: z.number().int().min(50).default(1500),
        /** How long all the DNS questions of one letter may take together, in milliseconds; past it the rest are `temperror`. */
        dnsBudgetMs: z.number().int().min(50).default(4000),
        /** How long a DNS question that failed (no answer, refused) is not asked again, in milliseconds. */
        dnsFailureTtlMs: z.number().int().min(0).default(120_000),
      })
      .prefault({}),
    /**
     * The rates (new sessions, letters per client, letters per sender) are kept where the register
     * is: in the gateway's memory on SQLite, in the register on PostgreSQL, where they hold across
     * every gateway sharing it. Open sessions are counted by each gateway process: they are its own
     * connections.
     */
    limits: z
      .strictObject({
        /** Client addresses no limit applies to (a relay of the office in front of the gateway). */
        exemptClients: z.array(z.string().min(1)).default(['127.0.0.1', '::1']),
        /** Open sessions from one client address at most, per gateway process; more get 421. */
        sessionsPerClient: z.number().int().min(1).default(20),
        /** New sessions from one client address per minute at most; more get 421. */
        connectionsPerClientPerMinute: z.number().int().min(1).default(120),
        /** Letters (MAIL FROM) from one client address per minute at most; more get 450 4.7.1. */
        lettersPerClientPerMinute: z.number().int().min(1).default(120),
        /** Letters from one sender address per hour at most; more get 450 4.7.1. */
        lettersPerSenderPerHour: z.number().int().min(1).default(60),
        /** Client addresses and senders remembered at most for each rate above (bounds memory, or the register's table). */
        trackedKeys: z.number().int().min(100).default(10_000),
      })
      .prefault({}),
    mime: z
      .strictObject({
        /** MIME parts in one letter at most; more get 552 5.3.4 before the letter is parsed. The parser itself stops at 1000. */
        maxParts: z.number().int().min(1).max(1000).default(500),
        /** Nesting of multiparts and embedded messages at most; deeper gets 552 5.3.4. */
        maxDepth: z.number().int().min(1).default(20),
      })
      .prefault({}),
  })
  .prefault({});

export type EmailConfig = z.output<typeof emailConfigSchema>;

/**
 * The email adapter, with its DNS resolver for sender authentication. The shipped one asks the
 * configured or system resolvers; tests and closed networks pass their own (a configuration file
 * cannot hold a function). Either way each question is time-limited and cached.
 */
export function createEmailAdapter({ dnsResolver }: { dnsResolver?: DnsResolver } = {}): AdapterDefinition {
  return defineAdapter({
    name: 'email',
    configSchema: emailConfigSchema,
    environment: {
      WASL_SMTP_PORT: { key: 'smtp.port', type: 'number' },
      WASL_OUTBOUND_SMTP_URL: { key: 'outbound.url', type: 'string' },
    },
    create({ config, settings, port, logger, now, tokens, metrics, limits }) {
      if (!config.enabled) return { off: 'adapters.email.enabled is false' };
      const identity = { domain: settings.domain, fromLocalPart: settings.fromLocalPart, officeName: settings.officeName[settings.defaultLanguage] ?? settings.domain };
      const verp = createVerp({ tokens: tokens(VERP_PURPOSE), domain: settings.domain });
      const sender = createMailSender({ config: config.outbound, identity, port, verp });
      const { dnsServers, dnsTimeoutMs, dnsBudgetMs, dnsFailureTtlMs } = config.authentication;
      const resolver = cachingDnsResolver({
        resolve: dnsResolver ?? systemDnsResolver({ servers: dnsServers, timeoutMs: dnsTimeoutMs }),
        timeoutMs: dnsTimeoutMs,
        failureTtlMs: dnsFailureTtlMs,
      });
      const verifySender = config.authentication.enabled ? timed(createSenderAuthenticator({ resolver, hostname: settings.domain, budgetMs: dnsBudgetMs }), metrics.duration('sender_check', 'Time to check a letter\'s sender (SPF, DKIM, DMARC and their DNS questions)')) : undefined;
      const dataTo250 = metrics.duration('data_to_250', 'Time from the end of DATA to the 250: the letter checked, parsed, registered and on disk');
      const intake = createSmtpIntake({ config, settings, port, logger, now, verifySender, verp, dataTo250, rateLimits: limits });
      return {
        name: 'email',
        async start() {
          const bound = await intake.listen();
          logger.info({ phase: 'start', port: bound, relay: config.outbound.url ? maskUrlCredentials(config.outbound.url) : 'built-in mailbox' }, 'SMTP intake listening');
        },
        async stop() {
          await intake.close();
          await sender.close();
        },
        send: sender.send,
        get listeningPort() {
          return intake.port;
        },
      };
    },
  });
}

/** The sender check, each call measured. */
function timed(verifySender: SenderAuthenticator, duration: ReturnType<AdapterMetrics['duration']>): SenderAuthenticator {
  return async (input) => {
    const end = duration.start();
    try {
      return await verifySender(input);
    } finally {
      end();
    }
  };
}

export const emailAdapter = createEmailAdapter();
