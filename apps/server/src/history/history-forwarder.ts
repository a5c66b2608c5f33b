import { GatewayTimeoutException, HttpStatus, ServiceUnavailableException } from '@nestjs/common';

/** What the caller sent that the history instance needs: its credential, and what it accepts. */
const FORWARDED_REQUEST_HEADERS = ['authorization', 'x-api-key', 'accept'] as const;
/** What of the history instance's answer the caller gets besides status and body. */
const RETURNED_RESPONSE_HEADERS = ['content-type', 'cache-control', 'etag', 'retry-after', 'www-authenticate'] as const;
/** Our mark on a forwarded request (RFC 9110 Via); an instance that would forward it again refuses instead of looping. */
export const VIA = '1.1 fleetstream-history';

export interface ForwardedAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * History reads of an instance without history (HISTORY_TRANSPORT=chdb, PROCESSORS without history)
 * asked of the instance that has it, HISTORY_URL, with Node's fetch. The caller's credential goes
 * along (this instance checked it first; the other checks it again). Every failure to get an answer
 * is an HTTP error that names the setting: 503 unreachable (with Retry-After), 504 too slow.
 */
export class HistoryForwarder {
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs: number,
  ) {}

  async forward(pathAndQuery: string, headers: Readonly<Record<string, string | string[] | undefined>>): Promise<ForwardedAnswer> {
    if (String(headers.via ?? '').includes(VIA)) {
      throw unavailable(`HISTORY_URL (${this.baseUrl}) leads to an instance that does not run the history processor either: set it to the one whose PROCESSORS include history`);
    }
    const sent: Record<string, string> = { via: VIA };
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = headers[name];
      if (typeof value === 'string' && value !== '') sent[name] = value;
    }
    let response: Response;
    let body: Buffer;
    try {
      // the timeout covers the body too: a history instance that stalls mid-answer does not hold the caller
      const signal = AbortSignal.timeout(this.timeoutMs);
      response = await fetch(`${this.baseUrl}${pathAndQuery}`, { headers: sent, signal, redirect: 'manual' });
      body = Buffer.from(await response.arrayBuffer());
    } catch (error) {
      if (error instanceof DOMException && error.name === 'TimeoutError') {
        throw new GatewayTimeoutException({
          statusCode: HttpStatus.GATEWAY_TIMEOUT,
          error: 'Gateway Timeout',
          message: `history is answered by the instance at HISTORY_URL (${this.baseUrl}), which did not answer within ${this.timeoutMs} ms (HISTORY_FORWARD_TIMEOUT_MS)`,
        });
      }
      throw unavailable(`history is answered by the instance at HISTORY_URL (${this.baseUrl}), which cannot be reached: ${causeOf(error)}`);
    }
    const returned: Record<string, string> = {};
    for (const name of RETURNED_RESPONSE_HEADERS) {
      const value = response.headers.get(name);
      if (value !== null) returned[name] = value;
    }
    return { status: response.status, headers: returned, body };
  }
}

function unavailable(message: string): ServiceUnavailableException {
  return new ServiceUnavailableException({ statusCode: HttpStatus.SERVICE_UNAVAILABLE, error: 'Service Unavailable', message });
}

/** fetch says only "fetch failed"; the reason (ECONNREFUSED, ENOTFOUND …) is in its cause. */
function causeOf(error: unknown): string {
  const cause = (error as { cause?: { message?: string; code?: string } }).cause;
  return cause?.message ?? cause?.code ?? (error as Error).message;
}
