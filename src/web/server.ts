/**
 * The gateway's web face: receipt pages anyone with the link can open, the built-in mailbox,
 * a health check, and the paths adapters mount (Slack's /slack/events). Plain node:http: a handful
 * of GET routes do not need a framework, and adapters get the raw request they expect.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { BlockList, type AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import type { HttpHandler, HttpMount } from '../channels/port.js';
import { LANGUAGES, type Language } from '../config/config.schema.js';
import type { WaslConfig } from '../config/config.load.js';
import type { RegisterTx } from '../db/register-tx.js';
import type { UnitOfWork } from '../db/unit-of-work.js';
import { isWaslError } from '../errors.js';
import { letterByReceiptToken } from '../letters/letters.repository.js';
import { listMessages, messageById } from '../mailbox/mailbox.repository.js';
import { receiptFacts, receiptPageView, type ReceiptFacts } from '../receipts/receipt-view.js';
import type { Router } from '../routing/routing.js';
import { isLanguage, type Templates } from '../templates/templates.js';
import { formatDateTime } from '../letters/letters.models.js';
import { createPdfRenderer } from '../evidence/pdf-renderer.js';
import { receiptPdfLabels } from '../evidence/receipt-pdf-labels.js';
import { PUBLIC_KEY_WELL_KNOWN_PATH, type SigningKey } from '../evidence/signing-key.js';
import { formatReceiptJson } from '../evidence/statement.js';
import type { LetterRow } from '../letters/letters.repository.js';
import { checkHealth } from './health.js';
import type { GatewayMetrics } from '../metrics/gateway-metrics.js';

export interface WebServer extends HttpMount {
  listen(): Promise<string>;
  close(): Promise<void>;
}

const LANGUAGE_LABELS: Record<Language, string> = { ar: 'العربية', fr: 'Français', en: 'English' };

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet('127.0.0.0', 8, 'ipv4');
LOOPBACK.addAddress('::1', 'ipv6');

/** Whether a listen address reaches this machine only (`localhost`, 127.0.0.0/8, ::1, also IPv4-mapped). */
export function isLoopbackHost(host: string): boolean {
  if (host.toLowerCase() === 'localhost') return true;
  return LOOPBACK.check(host, host.includes(':') ? 'ipv6' : 'ipv4');
}

/**
 * On every response: nothing loads, nothing frames it (clickjacking), no type is guessed, and no
 * Referer leaves a receipt page (its address is the capability to read it).
 */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
} as const;

/**
 * Chrome shows a PDF inside a page of its own making, whose inline styles `default-src 'none'`
 * blocks, leaving the viewer a strip (crbug.com/271452): a PDF only forbids being framed.
 */
const PDF_POLICY = "frame-ancestors 'none'";

/** `?lang=` first, then Accept-Language (by q-value), then the configured default. */
export function negotiateLanguage({ query, acceptLanguage, fallback }: { query: string | null; acceptLanguage: string | undefined; fallback: Language }): Language {
  if (isLanguage(query ?? undefined)) return query as Language;
  const ranked = (acceptLanguage ?? '')
    .split(',')
    .map((part) => {
      const [tag = '', ...parameters] = part.trim().split(';');
      const q = parameters.map((p) => /^\s*q=([\d.]+)/.exec(p)?.[1]).find(Boolean);
      return { primary: tag.trim().toLowerCase().slice(0, 2), q: q === undefined ? 1 : Number(q) };
    })
    .filter((entry) => entry.q > 0)
    .sort((left, right) => right.q - left.q);
  return (ranked.find((entry) => isLanguage(entry.primary))?.primary as Language | undefined) ?? fallback;
}

export function createWebServer({
  config,
  database,
  router,
  templates,
  signingKey,
  publicUrl,
  logger,
  metrics,
}: {
  config: WaslConfig;
  /** The register: read for receipts and the mailbox, pinged for /healthz (a trivial query). */
  database: Pick<UnitOfWork<RegisterTx>, 'read' | 'ping'>;
  router: Router;
  templates: Templates;
  signingKey: Pick<SigningKey, 'publicKeyPem'>;
  publicUrl: () => string;
  logger: Logger;
  metrics: Pick<GatewayMetrics, 'contentType' | 'scrape'>;
}): WebServer {
  const mounts = new Map<string, HttpHandler>();
  // Pages carry their layout's inline style, named by its hash, and no script at all.
  const pagePolicy = `${SECURITY_HEADERS['content-security-policy']}; style-src ${templates.pageStyleSources.join(' ')}`;
  // Off loopback the mailbox would show anyone every message the gateway sent, receipt links included.
  const mailboxServed = isLoopbackHost(config.http.host) || config.http.exposeMailbox;
  // Off loopback the metrics would tell anyone the office's traffic, by channel, and its backlog.
  const metricsServed = isLoopbackHost(config.http.host) || config.http.exposeMetrics;

  function send(response: ServerResponse, { status, type, body, headers = {} }: { status: number; type: string; body: string | Buffer; headers?: Record<string, string> }) {
    const pdf = type === 'application/pdf' ? { 'content-security-policy': PDF_POLICY } : {};
    response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...pdf, ...headers });
    response.end(body);
  }

  function sendPage(response: ServerResponse, { html, headers = {} }: { html: string; headers?: Record<string, string> }) {
    send(response, { status: 200, type: 'text/html; charset=utf-8', body: html, headers: { 'content-security-policy': pagePolicy, ...headers } });
  }

  const pageLanguage = (request: IncomingMessage, url: URL) =>
    negotiateLanguage({ query: url.searchParams.get('lang'), acceptLanguage: request.headers['accept-language'], fallback: config.language });

  const notFound = (response: ServerResponse) => send(response, { status: 404, type: 'text/plain; charset=utf-8', body: 'Not found\n' });

  /**
   * The signed receipt: line 1 the letter as it stands now (status, history: not signed, it
   * changes) and the signature, line 2 exactly the signed bytes, so `sed` can cut them out for a
   * check with OpenSSL alone (src/evidence/README.md).
   */
  function receiptJson(letter: LetterRow, facts: ReceiptFacts): string {
    const signed = letter.statement && letter.signature ? formatReceiptJson({ canonicalStatement: letter.statement, signatureValue: letter.signature }) : '{"signature":null,\n"statement":null}\n';
    return `{"letter":${JSON.stringify(facts)},${signed.slice(1)}`;
  }

  const pdfRenderer = createPdfRenderer({ timeoutMs: config.receipts.pdfTimeoutMs });

  async function receiptPdf(response: ServerResponse, { letter, facts, language }: { letter: LetterRow; facts: ReceiptFacts; language: Language }) {
    if (!letter.statement || !letter.signature) return notFound(response);
    const strings = templates.strings(language) as { channelName?: Record<string, string>; receiptPdf: { unavailable: string } };
    const pdf = await pdfRenderer
      .render({
        canonicalStatement: letter.statement,
        signatureValue: letter.signature,
        language,
        timezone: config.timezone,
        labels: receiptPdfLabels(strings),
        channelName: strings.channelName?.[letter.channel],
        departmentNames: Object.fromEntries(facts.departments.map((department) => [department.code, department.names[language] ?? department.code])),
        publicKeyUrl: `${publicUrl()}${PUBLIC_KEY_WELL_KNOWN_PATH}`,
      })
      .catch((error: unknown) => {
        // Too slow or stopping: say so and let the reader come back; a render that failed outright is a 500.
        if (!isWaslError(error) || !error.temporary) throw error;
        logger.warn({ phase: 'web', letter: letter.number, code: error.code }, `receipt PDF not served: ${error.message}`);
        return undefined;
      });
    if (!pdf) {
      return send(response, { status: 503, type: 'text/plain; charset=utf-8', body: `${strings.receiptPdf.unavailable}\n`, headers: { 'retry-after': '10', 'content-language': language } });
    }
    send(response, { status: 200, type: 'application/pdf', body: pdf, headers: { 'content-disposition': `inline; filename="${letter.number}.pdf"`, 'content-language': language } });
  }

  async function receipt(request: IncomingMessage, response: ServerResponse, url: URL, match: RegExpExecArray): Promise<void> {
    const [, token = '', extension] = match;
    const found = await database.read(async (tx) => {
      const letter = await letterByReceiptToken(tx, token);
      return letter ? { letter, facts: await receiptFacts({ tx, router, letter }) } : undefined;
    });
    if (!found) return notFound(response);
    const { letter, facts } = found;
    if (extension === '.json') {
      return send(response, { status: 200, type: 'application/json; charset=utf-8', body: receiptJson(letter, facts) });
    }
    const language = pageLanguage(request, url);
    if (extension === '.pdf') return receiptPdf(response, { letter, facts, language });
    const view = receiptPageView({ facts, strings: templates.strings(language), language, config });
    const languages = LANGUAGES.map((code) => ({ code, label: LANGUAGE_LABELS[code] }));
    const html = templates.page({
      name: 'receipt-page',
      language,
      view: { ...view, languages, jsonUrl: `${token}.json`, pdfUrl: `${token}.pdf?lang=${language}`, keyUrl: PUBLIC_KEY_WELL_KNOWN_PATH, entryHash: letter.entryHash },
    });
    sendPage(response, { html, headers: { 'content-language': language, 'x-robots-tag': 'noindex' } });
  }

  async function mailbox(request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
    if (!mailboxServed) {
      const strings = templates.strings(pageLanguage(request, url)) as { mailbox: { notServed: string } };
      return send(response, { status: 403, type: 'text/plain; charset=utf-8', body: `${strings.mailbox.notServed}\n` });
    }
    const id = /^\/mailbox\/(\d+)$/.exec(url.pathname)?.[1];
    if (id) {
      const message = await database.read((tx) => messageById(tx, Number(id)));
      if (!message) return notFound(response);
      return send(response, { status: 200, type: 'text/plain; charset=utf-8', body: message.raw });
    }
    const language = pageLanguage(request, url);
    const messages = (await database.read((tx) => listMessages(tx, 200))).map((message) => ({
      ...message,
      storedAt: formatDateTime({ date: message.storedAt, timezone: config.timezone, language }),
    }));
    const html = templates.page({ name: 'mailbox-page', language, view: { office: config.mail.officeName[language], messages } });
    sendPage(response, { html });
  }

  function home(request: IncomingMessage, response: ServerResponse, url: URL): void {
    const language = pageLanguage(request, url);
    const departments = router.departments.map((department) => ({ code: department.code, name: department.names[language], addresses: department.addresses }));
    const html = templates.page({ name: 'home-page', language, view: { office: config.mail.officeName[language], departments } });
    sendPage(response, { html });
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.setHeader(name, value);
    for (const [path, handler] of mounts) {
      if (url.pathname === path || url.pathname.startsWith(`${path}/`)) return handler(request, response);
    }
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return send(response, { status: 405, type: 'text/plain; charset=utf-8', body: 'Method not allowed\n', headers: { allow: 'GET, HEAD' } });
    }
    if (url.pathname === '/healthz') {
      const health = await checkHealth(() => database.ping());
      return send(response, { status: health.status, type: 'application/json', body: JSON.stringify(health.body) });
    }
    if (url.pathname === '/metrics') {
      if (!metricsServed) {
        const strings = templates.strings(pageLanguage(request, url)) as { metrics: { notServed: string } };
        return send(response, { status: 403, type: 'text/plain; charset=utf-8', body: `${strings.metrics.notServed}\n` });
      }
      return send(response, { status: 200, type: metrics.contentType, body: await metrics.scrape() });
    }
    if (url.pathname === PUBLIC_KEY_WELL_KNOWN_PATH) {
      return send(response, { status: 200, type: 'application/x-pem-file', body: signingKey.publicKeyPem, headers: { 'cache-control': 'public, max-age=3600' } });
    }
    const receiptMatch = /^\/r\/([A-Za-z0-9_-]{16,64})(\.json|\.pdf)?$/.exec(url.pathname);
    if (receiptMatch) return receipt(request, response, url, receiptMatch);
    if (url.pathname === '/mailbox' || url.pathname.startsWith('/mailbox/')) return mailbox(request, response, url);
    if (url.pathname === '/') return home(request, response, url);
    notFound(response);
  }

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error({ err: error, phase: 'web' }, 'request failed');
      if (!response.headersSent) send(response, { status: 500, type: 'text/plain; charset=utf-8', body: 'Internal error\n' });
      else response.destroy();
    });
  });

  return {
    mount(path, handler) {
      mounts.set(path.replace(/\/$/, ''), handler);
    },
    listen() {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.http.port, config.http.host, () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(`http://${host}:${address.port}`);
        });
      });
    },
    async close() {
      await Promise.all([
        pdfRenderer.close(),
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
      ]);
    },
  };
}
