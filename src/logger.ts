/** Structured logs to stderr (stdout stays free for CLI output that scripts read). */
import { destination as fileDestination, pino, type DestinationStream, type Logger } from 'pino';
import { MASK, maskUrlCredentials, SECRET_LOG_PATHS } from './config/secrets.js';

export type { Logger };

/**
 * No secret in any line, at any level: the values of secret keys are redacted, and a URL's
 * password is masked in the message and every text field of a line (a relay URL logged whole once
 * showed its password). Only a line that holds such a URL is copied.
 */
function withoutUrlCredentials(fields: Record<string, unknown>): Record<string, unknown> {
  let masked: Record<string, unknown> | undefined;
  for (const [name, value] of Object.entries(fields)) {
    if (typeof value !== 'string') continue;
    const shown = maskUrlCredentials(value);
    if (shown !== value) (masked ??= { ...fields })[name] = shown;
  }
  return masked ?? fields;
}

export function createLogger(
  level: string,
  // Written asynchronously: a busy gateway logs three lines a letter, and a synchronous write of
  // each held the event loop (profiled: 0.07 ms a letter). pino flushes what is left when the
  // process exits; a SIGKILL may cost the last lines of the log, never a letter (the register
  // is the record).
  destination: DestinationStream = fileDestination({ fd: 2, sync: false }),
): Logger {
  return pino(
    {
      level,
      base: { service: 'wasl' },
      redact: { paths: [...SECRET_LOG_PATHS], censor: MASK },
      formatters: { log: withoutUrlCredentials },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((arg) => (typeof arg === 'string' ? maskUrlCredentials(arg) : arg)) as typeof args);
        },
      },
    },
    destination,
  );
}
