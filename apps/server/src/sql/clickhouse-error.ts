/**
 * ClickHouse's error codes that this interface sends itself, by their ClickHouse names, so that
 * clients which branch on `X-ClickHouse-Exception-Code` (retry on 202, re-authenticate on 516) do so here too.
 */
export const ErrorCode = {
  BAD_ARGUMENTS: 36,
  NOT_IMPLEMENTED: 48,
  SYNTAX_ERROR: 62,
  UNKNOWN_DATABASE: 81,
  READONLY: 164,
  CANNOT_DECOMPRESS: 271,
  REQUIRED_PASSWORD: 194,
  TOO_MANY_SIMULTANEOUS_QUERIES: 202,
  DATABASE_ACCESS_DENIED: 291,
  UNKNOWN_QUERY_PARAMETER: 456,
  BAD_QUERY_PARAMETER: 457,
  ACCESS_DENIED: 497,
  AUTHENTICATION_FAILED: 516,
} as const;
const NAME_OF = new Map<number, string>(Object.entries(ErrorCode).map(([name, code]) => [code, name]));

/** An error as ClickHouse's HTTP interface reports it: the code decides the status and the header. */
export class ClickHouseError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }

  /** `Code: N. DB::Exception: …`, the body every ClickHouse client parses; the engine's own messages already have it. */
  body(): string {
    if (/^Code: \d+\. /.test(this.message)) return `${this.message}\n`;
    const name = NAME_OF.get(this.code);
    return `Code: ${this.code}. DB::Exception: ${this.message}${name ? ` (${name})` : ''}\n`;
  }
}

/** An engine (chdb) error as a ClickHouseError, keeping its ClickHouse code when it has one. */
export function fromEngineError(error: unknown): ClickHouseError {
  if (error instanceof ClickHouseError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { clickhouseCode?: unknown }).clickhouseCode;
  const parsed = typeof code === 'number' ? code : Number(/^Code: (\d+)\./.exec(message)?.[1] ?? 1001);
  return new ClickHouseError(parsed, message);
}

// ClickHouse's exceptionCodeToHTTPStatus groups, for the codes it lists
const BAD_REQUEST = new Set([6, 8, 15, 25, 26, 27, 36, 38, 41, 44, 53, 62, 72, 117, 167, 168, 271, 321, 376, 427]);
const NOT_FOUND = new Set([46, 47, 50, 56, 60, 63, 73, 81, 115]);

/**
 * The HTTP status ClickHouse sends with an error code (its exceptionCodeToHTTPStatus, for the codes
 * the engine and this interface raise), with two refusals made explicit: 164 READONLY gets 403 (ClickHouse
 * sends 500), and 202 TOO_MANY_SIMULTANEOUS_QUERIES gets 429 so that clients back off and retry
 * (clickhouse-connect retries 429 by itself).
 */
export function httpStatusOf(code: number): number {
  if (code === ErrorCode.REQUIRED_PASSWORD) return 401;
  if (code === ErrorCode.AUTHENTICATION_FAILED || code === ErrorCode.ACCESS_DENIED || code === ErrorCode.READONLY) return 403;
  if (code === ErrorCode.TOO_MANY_SIMULTANEOUS_QUERIES) return 429;
  if (code === 159) return 408; // TIMEOUT_EXCEEDED
  if (code === ErrorCode.NOT_IMPLEMENTED) return 501;
  if (BAD_REQUEST.has(code)) return 400;
  if (NOT_FOUND.has(code)) return 404;
  return 500;
}
