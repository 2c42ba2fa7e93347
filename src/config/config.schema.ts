/**
 * The gateway's own configuration keys. Every key has a default so that the shipped
 * `config/default.yaml` and an empty file both start a working gateway on one machine.
 * Objects are strict: a misspelt key is an error that names it, not a silently ignored setting.
 * Adapters own their schemas under `adapters.<name>`; `config.load.ts` composes them.
 */
import * as z from 'zod';

export const LANGUAGES = ['ar', 'fr', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];

/** Arabic is written right to left: its pages say dir="rtl", and what it quotes is set apart (bidi isolates). */
export function isRightToLeft(language: Language): boolean {
  return language === 'ar';
}

const languageSchema = z.enum(LANGUAGES);

const translatedName = z.strictObject({
  ar: z.string().min(1),
  fr: z.string().min(1),
  en: z.string().min(1),
});

const emailAddress = z.email().transform((address) => address.toLowerCase());

export const departmentSchema = z.strictObject({
  code: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,32}$/, 'letters, digits, "_" or "-", at most 32')
    .transform((code) => code.toUpperCase()),
  names: translatedName,
  /** Addresses of the gateway's domain that reach this department. */
  addresses: z.array(emailAddress).default([]),
  /** Where the department's letters are delivered, per channel name (email mailboxes, Slack channels, Matrix rooms). */
  channels: z.record(z.string(), z.array(z.string().min(1))).default({}),
});

export type DepartmentConfig = z.output<typeof departmentSchema>;

/** A PostgreSQL register's address, as database.url and `wasl register copy` take it. */
export function isPostgresUrl(text: string): boolean {
  return /^postgres(ql)?:\/\//i.test(text) && URL.canParse(text);
}

export const coreConfigSchema = z.strictObject({
  mail: z
    .strictObject({
      /** The gateway's mail domain: RCPT TO addresses of other domains are refused (no open relay). */
      domain: z
        .string()
        .min(1)
        .transform((domain) => domain.toLowerCase())
        .default('wasl.local'),
      /** The administration's name, as receipts show it. */
      officeName: translatedName.default({
        ar: 'مكتب الضبط',
        fr: "Bureau d'ordre",
        en: 'Mail office',
      }),
      /** The local part the gateway sends from (receipts, forwards). */
      fromLocalPart: z.string().min(1).default('courrier'),
    })
    .prefault({}),
  /** Base of every link the gateway hands out; defaults to the HTTP listen address. */
  publicUrl: z.url().optional(),
  /** Where the register (SQLite), keys and secrets live. Relative paths start at the working directory. */
  dataDir: z.string().min(1).default('./data'),
  database: z
    .strictObject({
      /** How long a write waits for another process's lock (the CLI, a backup) before the sender is told 451, in milliseconds. */
      busyTimeoutMs: z.number().int().min(0).default(5000),
      /**
       * Refuse to start while another gateway runs on the same data directory (exit 2). Off only
       * when several processes are meant to share it; the SQLite register is measured with one.
       */
      lockDataDir: z.boolean().default(true),
      /**
       * The register on a PostgreSQL server shared by several gateways, instead of SQLite in
       * dataDir: postgres://user:password@host:port/database. WASL_DATABASE_URL wins over the file
       * (and keeps the password out of it).
       */
      url: z
        .string()
        .refine(isPostgresUrl, 'must be a postgres:// or postgresql:// URL, e.g. postgres://wasl@db.example:5432/wasl')
        .optional(),
      /** PostgreSQL: how long opening a connection may take before the write fails (SMTP 451), in milliseconds. */
      connectTimeoutMs: z.number().int().min(100).max(60_000).default(5000),
      /** PostgreSQL: how long one statement may run before the server cancels it, in milliseconds. */
      statementTimeoutMs: z.number().int().min(1000).max(300_000).default(15_000),
      /** PostgreSQL: connections this gateway keeps for reads (pages, commands, the outbox's looks); writes have one of their own. */
      readConnections: z.number().int().min(1).max(100).default(10),
    })
    .prefault({}),
  /**
   * Gateway processes `wasl start` runs on this machine, sharing its SMTP and HTTP ports: a number,
   * or `auto` for one per core. More than one needs the PostgreSQL register (database.url).
   */
  workers: z.union([z.literal('auto'), z.coerce.number().int().min(1).max(256)]).default(1),
  /** The language of receipts and pages when nothing else decides. */
  language: languageSchema.default('fr'),
  /** IANA time zone for dates shown to people and for the year of registration numbers. */
  timezone: z
    .string()
    .refine((zone) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: zone });
        return true;
      } catch {
        // Intl throws RangeError for an unknown zone: that is exactly what we are checking.
        return false;
      }
    }, 'not a known IANA time zone')
    .default('Africa/Casablanca'),
  numbering: z
    .strictObject({
      /**
       * The form of registration numbers. `{year}`, `{direction}` (A incoming, D outgoing) and
       * `{seq:N}` (the sequence, zero-padded to N digits) are replaced.
       */
      format: z
        .string()
        .refine((format) => /\{seq(:\d+)?\}/.test(format), 'must contain {seq} or {seq:N}')
        .refine((format) => format.includes('{year}'), 'must contain {year}: numbers restart each year')
        .default('{year}-{direction}-{seq:6}'),
    })
    .prefault({}),
  http: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      /** 0 picks a free port (tests). */
      port: z.coerce.number().int().min(0).max(65535).default(8080),
      /**
       * Serve the built-in mailbox (/mailbox) although `host` is not a loopback address. Off: it is
       * served on loopback only, since it shows every message sent, receipt links included.
       */
      exposeMailbox: z.boolean().default(false),
      /**
       * Serve /metrics (Prometheus) although `host` is not a loopback address. Off: it is served on
       * loopback only, since it tells the office's traffic and backlog by channel.
       */
      exposeMetrics: z.boolean().default(false),
    })
    .prefault({}),
  routing: z
    .strictObject({
      /**
       * The department (usually the mail office itself) that gets letters no rule routes: a reply
       * whose answer token is not valid is registered as a new letter for it.
       */
      fallbackDepartment: z.string().transform((code) => code.toUpperCase()).optional(),
      /**
       * The department that is the mail office: it gets what is sent to postmaster@<domain> or to
       * a bare <postmaster> (RFC 5321 §4.5.1). Unset: `fallbackDepartment`, else the first department.
       */
      mailOffice: z.string().transform((code) => code.toUpperCase()).optional(),
    })
    .prefault({}),
  outbox: z
    .strictObject({
      /** How often the worker looks for due deliveries when nothing wakes it, in milliseconds. */
      pollIntervalMs: z.number().int().min(10).default(1000),
      /** Deliveries sent at the same time on each channel: a peer that hangs holds back its own channel only. */
      concurrency: z.number().int().min(1).max(256).default(32),
      /** Attempts before a delivery is marked failed (the mail office sees it). */
      maxAttempts: z.number().int().min(1).default(12),
      /** First retry delay in milliseconds; doubles each attempt, with ±20% jitter. */
      retryBaseMs: z.number().int().min(1).default(30_000),
      /** Longest delay between two attempts, in milliseconds. */
      retryMaxMs: z.number().int().min(1).default(3_600_000),
      /**
       * How long a gateway's claim on a delivery it sends holds, in milliseconds; it renews it every
       * third of that while the send lasts. A gateway that dies leaves its sends to the others once
       * this has passed. Above the channels' request timeouts (30 s), so a slow renewal is no loss.
       */
      leaseMs: z.number().int().min(1000).max(3_600_000).default(90_000),
    })
    .prefault({}),
  /**
   * Work one gateway at a time (Slack Socket Mode, the Matrix sync) is held by a lease in the
   * register: its holder renews it every `renewEveryMs`; when the holder dies, another gateway takes
   * it once `ttlMs` has passed since the last renewal. A gateway that stops gives it back at once.
   */
  leadership: z
    .strictObject({
      /** How long a lease lasts without renewal, in milliseconds: at most this long without the work after its gateway dies. */
      ttlMs: z.number().int().min(1000).max(300_000).default(15_000),
      /** How often the holder renews, and the others try, in milliseconds. */
      renewEveryMs: z.number().int().min(100).max(100_000).default(5000),
    })
    // A holder that misses one renewal (the register slow for a moment) keeps the lease and the work.
    .refine((leadership) => leadership.renewEveryMs * 2 <= leadership.ttlMs, {
      path: ['renewEveryMs'],
      message: 'must be at most half of leadership.ttlMs, so that one late renewal does not hand the work over',
    })
    .prefault({}),
  receipts: z
    .strictObject({
      /** Receipts sent to one sender address per hour at most, whatever the headers say (loop guard). */
      perSenderPerHour: z.number().int().min(1).default(10),
      /**
       * Languages of the receipt email, in order. Empty: the letter's own language (else `language`).
       * Two, e.g. [ar, fr]: one email carrying both texts, as bilingual administrations write.
       */
      mailLanguages: z.array(languageSchema).max(3).default([]),
      /**
       * The Ed25519 private key (PKCS#8 PEM file) that signs receipts. None: a key is made on first
       * start in <dataDir>/keys/ and kept there.
       */
      signingKeyPath: z.string().min(1).optional(),
      /**
       * Longest wait for a PDF receipt, waiting for the renderer included, in milliseconds; past
       * it the reader gets 503 and the render is stopped. PDFs render on a worker thread, one at a time.
       */
      pdfTimeoutMs: z.number().int().min(1).default(15_000),
    })
    .prefault({}),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    })
    .prefault({}),
  departments: z.array(departmentSchema).default([]),
});

export type CoreConfig = z.output<typeof coreConfigSchema>;

/** Environment variables the core honours; adapters declare their own. */
export const coreEnvironment: Record<string, { key: string; type: 'string' | 'number' | 'boolean' }> = {
  WASL_DATA_DIR: { key: 'dataDir', type: 'string' },
  WASL_DATABASE_URL: { key: 'database.url', type: 'string' },
  WASL_HTTP_PORT: { key: 'http.port', type: 'number' },
  WASL_PUBLIC_URL: { key: 'publicUrl', type: 'string' },
  WASL_LOG_LEVEL: { key: 'log.level', type: 'string' },
  WASL_WORKERS: { key: 'workers', type: 'string' },
};
