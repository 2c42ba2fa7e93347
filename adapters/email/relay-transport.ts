/**
 * The pooled nodemailer transport to the operator's relay, and what its errors mean. Used inside
 * the relay thread (relay-thread.ts); nothing here touches the register.
 */
import { connect, type Socket } from 'node:net';
import nodemailer from 'nodemailer';
import { WaslError } from '../../src/errors.js';
import type { EmailConfig } from './index.js';

export type RelayConfig = EmailConfig['outbound'] & { url: string };

/** What a failed send reports, reduced to what crosses a thread: nodemailer's `responseCode` from the remote server, `code` for connection problems. */
export interface RelayFailure {
  message: string;
  responseCode?: number | undefined;
  code?: string | undefined;
  response?: string | undefined;
}

/** A remote 5xx is final (the mail office must see it at once); 4xx and connection trouble are retried. */
export function deliveryErrorFor(failure: RelayFailure): WaslError {
  const text = failure.response ?? failure.message;
  if (failure.responseCode && failure.responseCode >= 500) {
    return new WaslError('delivery.refused', text, { temporary: false, details: { responseCode: failure.responseCode } });
  }
  return new WaslError('delivery.unavailable', text, { temporary: true, details: { responseCode: failure.responseCode, code: failure.code } });
}

/**
 * The relay URL as explicit options: given `url`, nodemailer ignores the options beside it
 * (timeouts, pool size, TLS), and a relay that never greets would hold a delivery forever.
 */
export function relayAddress(url: string): { host: string; port: number; secure: boolean; auth?: { user: string; pass: string } } {
  const parsed = new URL(url);
  const secure = parsed.protocol === 'smtps:';
  const user = decodeURIComponent(parsed.username);
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port ? Number(parsed.port) : secure ? 465 : 25,
    secure,
    ...(user ? { auth: { user, pass: decodeURIComponent(parsed.password) } } : {}),
  };
}

/**
 * Opens the relay connection with TCP_NODELAY. nodemailer writes a message in pieces; with Nagle's
 * algorithm on, the last piece waits for the relay's delayed ACK (40 ms on Linux) on every message,
 * which capped a pooled connection near 25 messages a second. nodemailer upgrades it to TLS itself.
 *
 * The socket is handed over while it still connects, so its failure (refused, timed out) reaches
 * nodemailer as the connection's own error. Reported through this callback instead, nodemailer's
 * pool neither fails the connection nor removes it: once a refused connect had happened on each of
 * its `maxConnections`, every later send waited forever (nodemailer 7.0).
 */
function connectWithoutDelay({ host, port }: { host: string; port: number }): { connection: Socket } {
  return { connection: connect({ host, port, noDelay: true }) };
}

export function createRelayTransport(config: RelayConfig) {
  const address = relayAddress(config.url);
  return nodemailer.createTransport({
    ...address,
    getSocket: (_options: unknown, callback: (error: Error | null, socket?: { connection: Socket }) => void) => callback(null, connectWithoutDelay(address)),
    pool: true,
    maxConnections: config.maxConnections,
    // nodemailer recycles a pooled connection after 100 messages by default; each new one
    // costs a handshake (and 100 ms of greeting delay from smtp-server peers). Keep them.
    maxMessages: Infinity,
    connectionTimeout: config.timeoutMs,
    greetingTimeout: config.timeoutMs,
    socketTimeout: config.timeoutMs,
    // The relay is the operator's own server; it may present a certificate for another name.
    tls: { rejectUnauthorized: config.verifyCertificate },
  });
}
