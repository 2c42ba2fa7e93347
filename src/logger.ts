/** Structured logs to stderr (stdout stays free for CLI output that scripts read). */
import { destination, pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string): Logger {
  // Written asynchronously: a busy gateway logs three lines a letter, and a synchronous write of
  // each held the event loop (profiled: 0.07 ms a letter). pino flushes what is left when the
  // process exits; a SIGKILL may cost the last lines of the log, never a letter (the register
  // is the record).
  return pino({ level, base: { service: 'wasl' } }, destination({ fd: 2, sync: false }));
}
