/**
 * What must never be shown: the values of secret keys (tokens, passwords, signing secrets) and the
 * password a URL may carry (`smtps://user:pass@relay`). One place, used by `wasl config show` and by
 * every log line, so the two cannot disagree on what a secret is.
 */

export const MASK = '***';

/** A key whose value is a secret: `botToken`, `signingSecret`, `password`, `accessToken`... */
const SECRET_KEY = /secret|token|password|key$/i;

/** `scheme://user:password@`: the password part, up to the last `@` before the path. */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/[^/@:\s]*:)[^/\s]*@/gi;

/** The text with the password of every URL in it replaced by `***`. */
export function maskUrlCredentials(text: string): string {
  return text.replace(URL_CREDENTIALS, `$1${MASK}@`);
}

/** A copy of a configuration with secret keys shown as `***` and URL passwords masked, fit for a ticket. */
export function maskSecrets(value: unknown, key = ''): unknown {
  if (typeof value === 'string') return SECRET_KEY.test(key) ? MASK : maskUrlCredentials(value);
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, maskSecrets(item, name)]));
  return value;
}

/**
 * pino `redact` paths for the keys that hold secrets, at the top of a log object and one level
 * down (`{ auth: { pass } }` as nodemailer takes it): pino's redaction names exact paths, it has
 * no pattern for "any key like this".
 */
export const SECRET_LOG_PATHS: readonly string[] = [
  'password',
  'pass',
  'secret',
  'token',
  'accessToken',
  'botToken',
  'appToken',
  'signingSecret',
  'authorization',
].flatMap((name) => [name, `*.${name}`]);
