/**
 * The one error type of wasl. Codes are stable and dotted (`department.unknown`), so adapters can
 * map them to their channel's answers (SMTP codes, chat replies) and tests can assert on them.
 * `temporary` says whether the same request may succeed later: it decides SMTP 4xx vs 5xx and
 * whether the outbox retries a delivery.
 */
export class WaslError extends Error {
  readonly code: string;
  readonly temporary: boolean;
  /** A delay the peer asked for (HTTP Retry-After, SMTP 421 with a hint), in milliseconds. */
  readonly retryAfterMs: number | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: string,
    message: string,
    options: {
      temporary?: boolean;
      retryAfterMs?: number;
      details?: Record<string, unknown>;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'WaslError';
    this.code = code;
    this.temporary = options.temporary ?? false;
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details;
  }
}

export function isWaslError(error: unknown): error is WaslError {
  return error instanceof WaslError;
}

/** Errors we did not anticipate are temporary: the sender retries rather than losing the letter. */
export function toWaslError(error: unknown, fallbackCode = 'internal.unexpected'): WaslError {
  if (error instanceof WaslError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new WaslError(fallbackCode, message, { temporary: true, cause: error });
}
