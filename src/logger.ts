/** Structured logs to stderr (stdout stays free for CLI output that scripts read). */
import { destination, pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'wasl' } }, destination(2));
}
