/**
 * matrix-js-sdk logs through one process-wide `loglevel` logger and writes to the console by
 * default; some of its modules bind `logger.log` once, when they are first evaluated. This module
 * must therefore be imported before 'matrix-js-sdk' itself: it routes every SDK line to the
 * adapter's logger at debug (the adapter reports what matters itself), and drops them until then.
 */
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';
import type { Logger } from 'pino';

/** What `loglevel` offers under the SDK's narrower typings. */
const sdkLoglevel = sdkLogger as unknown as { methodFactory: () => (...args: unknown[]) => void; rebuild(): void };

let sink: Logger | undefined;

sdkLoglevel.methodFactory = () => (...args: unknown[]) => {
  if (sink?.isLevelEnabled('debug')) sink.debug({ phase: 'matrix-sdk' }, args.map((arg) => (arg instanceof Error ? arg.message : String(arg))).join(' '));
};
sdkLoglevel.rebuild();

export function routeSdkLogs(logger: Logger): void {
  sink = logger;
}
