/**
 * The secrets that make links and reply addresses unguessable.
 * - Receipt tokens: 144 random bits, the capability behind `/r/{token}`.
 * - Answer tokens: bind a reply address or a chat thread to one letter with an HMAC, so knowing a
 *   registration number is not enough to inject an answer into someone else's letter. Lower-case
 *   hex, because some mail systems lower-case local parts.
 * - Adapters' tokens (`createIdTokens`): the same for what an adapter must recognise as its own,
 *   under a label of its own (the email adapter's VERP addresses).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IdTokens } from '../channels/port.js';
import { ConfigError } from '../config/config.load.js';
import { createPrivateFileOnce } from '../paths.js';

/** An HMAC-SHA256 key shorter than its output is weaker than the hash it feeds (RFC 2104 §3). */
const MIN_SECRET_BYTES = 32;

export function newReceiptToken(): string {
  return randomBytes(18).toString('base64url');
}

const ANSWER_LABEL = 'answer';

/**
 * `<id in base 36>-<HMAC of label:id, 128 bits in hex>`. The label keeps the kinds apart: an
 * answer token never passes as a bounce token for the same number, nor the other way round.
 */
export function createIdTokens(secret: Buffer, label: string): IdTokens {
  const mac = (id: number) => createHmac('sha256', secret).update(`${label}:${id}`).digest().subarray(0, 16);
  return {
    tokenFor: (id: number) => `${id.toString(36)}-${mac(id).toString('hex')}`,
    idOf(token: string): number | undefined {
      const match = /^([0-9a-z]{1,12})-([0-9a-f]{32})$/.exec(token.toLowerCase());
      if (!match) return undefined;
      const id = Number.parseInt(match[1]!, 36);
      if (!Number.isSafeInteger(id)) return undefined;
      const given = Buffer.from(match[2]!, 'hex');
      return timingSafeEqual(given, mac(id)) ? id : undefined;
    },
  };
}

export interface AnswerTokens {
  tokenFor(letterId: number): string;
  /** The letter id the token was made for, or undefined when it is not one of ours. */
  letterIdOf(token: string): number | undefined;
}

export function createAnswerTokens(secret: Buffer): AnswerTokens {
  const tokens = createIdTokens(secret, ANSWER_LABEL);
  return { tokenFor: tokens.tokenFor, letterIdOf: tokens.idOf };
}

/** The tokens an adapter makes for its own `purpose`; never the core's answer tokens, which bind answers to letters. */
export function adapterTokens(secret: Buffer, purpose: string): IdTokens {
  if (purpose === ANSWER_LABEL) throw new Error(`an adapter cannot make tokens for "${ANSWER_LABEL}": the core's answer tokens are its own`);
  return createIdTokens(secret, purpose);
}

/** The gateway's HMAC secret: WASL_SECRET (hex or text) or a file made once in the data directory. */
export function loadOrCreateSecret({ dataDir, env }: { dataDir: string; env: NodeJS.ProcessEnv }): Buffer {
  if (env.WASL_SECRET) {
    const secret = Buffer.from(env.WASL_SECRET, 'utf8');
    if (secret.length < MIN_SECRET_BYTES) {
      throw new ConfigError([
        `WASL_SECRET: ${secret.length} bytes, at least ${MIN_SECRET_BYTES} are needed; make one with \`openssl rand -hex 32\`, or unset it to let the gateway keep its own in the data directory`,
      ]);
    }
    return secret;
  }
  const file = join(dataDir, 'secret.key');
  if (existsSync(file)) return readFileSync(file);
  mkdirSync(dataDir, { recursive: true });
  return createPrivateFileOnce(file, randomBytes(32)).content;
}
