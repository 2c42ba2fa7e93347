/**
 * matrix-js-sdk's log lines go to the adapter's logger, never to the console.
 *
 * A client logs through the logger given to `createClient({ logger })` (added by
 * matrix-org/matrix-js-sdk#3792): `clientLogger` makes that one, the supported hook. But in 37.x
 * the sync loop, rooms, events and timelines still log through the SDK's process-wide `loglevel`
 * logger, which writes to the console; moving them to the client's logger is
 * matrix-org/matrix-js-sdk#4899, not in the version pinned here. That logger is routed with
 * loglevel's plugin API (a new `methodFactory`, then `rebuild()`), the extension point the SDK's
 * `Logger.getChild` documents. It runs when this module is evaluated, which must be before
 * 'matrix-js-sdk' itself: some of the SDK's modules take their logging methods once, when first
 * evaluated. Once the SDK logs everything through the client's logger, this part can go.
 *
 * Levels: one step down, and never above debug. The adapter reports what matters once (a
 * homeserver away, a refused token) where the SDK repeats it on every retry: the SDK's trace and
 * debug lines (one per request) are our trace, its info, warnings and errors our debug.
 */
import { logger as processWideSdkLogger, type Logger as SdkLogger } from 'matrix-js-sdk/lib/logger.js';
import type { Logger } from 'pino';

type SdkMethod = 'trace' | 'debug' | 'info' | 'warn' | 'error';

function write({ sink, method, name, args }: { sink: Logger | undefined; method: string; name: string; args: unknown[] }): void {
  const level = method === 'trace' || method === 'debug' ? 'trace' : 'debug';
  if (!sink?.isLevelEnabled(level)) return;
  sink[level]({ phase: 'matrix-sdk', sdkLogger: name, sdkLevel: method }, args.map((arg) => (arg instanceof Error ? arg.message : String(arg))).join(' '));
}

/** The logger a client is created with; children carry their namespace as the SDK's own do. */
export function clientLogger(logger: Logger, name = 'matrix'): SdkLogger {
  const at = (method: SdkMethod) => (...args: unknown[]) => write({ sink: logger, method, name, args });
  return { trace: at('trace'), debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), getChild: (namespace) => clientLogger(logger, `${name}-${namespace}`) };
}

/** Where the process-wide logger writes: the last adapter that started (one Matrix bot a process). */
let processWideSink: Logger | undefined;

/** loglevel's plugin API, which the SDK's typings leave out. */
const loglevelLogger = processWideSdkLogger as unknown as {
  methodFactory: (method: string, level: number, name: string | symbol | undefined) => (...args: unknown[]) => void;
  rebuild(): void;
};
loglevelLogger.methodFactory = (method, _level, name) => (...args: unknown[]) => write({ sink: processWideSink, method, name: String(name ?? 'matrix'), args });
loglevelLogger.rebuild();

export function routeSdkLogs(logger: Logger): void {
  processWideSink = logger;
}
