import { CallHandler, ExecutionContext, HttpException, Inject, Injectable, NestInterceptor, ServiceUnavailableException, HttpStatus, StreamableFile } from '@nestjs/common';
import type { Request, Response } from 'express';
import { from, Observable } from 'rxjs';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { HistoryForwarder } from './history-forwarder';
import { historyReads, HistoryReads } from './history-topology';

/**
 * Decides where a history read is answered (see historyReads): here, by the instance at HISTORY_URL,
 * or nowhere (503). Interceptors run after the guards, so this instance has already checked the
 * caller's credential and rights; query validation is the answering instance's.
 */
@Injectable()
export class HistoryReadsInterceptor implements NestInterceptor {
  private readonly reads: HistoryReads;
  private readonly forwarder: HistoryForwarder | undefined;

  constructor(@Inject(fleetstreamConfig.KEY) config: AppConfig) {
    this.reads = historyReads(config);
    this.forwarder = this.reads.kind === 'forward' ? new HistoryForwarder(this.reads.url, config.HISTORY_FORWARD_TIMEOUT_MS) : undefined;
  }

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (this.reads.kind === 'local') return next.handle();
    if (this.reads.kind === 'refuse') {
      throw new ServiceUnavailableException({ statusCode: HttpStatus.SERVICE_UNAVAILABLE, error: 'Service Unavailable', message: this.reads.message });
    }
    const http = context.switchToHttp();
    return from(this.forward(http.getRequest<Request>(), http.getResponse<Response>()));
  }

  /** The other instance's answer as it is: its status, body bytes and content headers. */
  private async forward(request: Request, response: Response): Promise<StreamableFile> {
    const answer = await this.forwarder!.forward(request.originalUrl, request.headers).catch((error: unknown) => {
      // the history instance restarting is the usual cause: worth retrying soon
      if (error instanceof ServiceUnavailableException) response.setHeader('Retry-After', '5');
      throw error;
    });
    for (const [name, value] of Object.entries(answer.headers)) response.setHeader(name, value);
    // Nest sends a handler's result with the route's status (200): anything else goes as an exception, whose body Nest sends as JSON
    if (answer.status !== HttpStatus.OK) throw new HttpException(parsed(answer.body), answer.status);
    return new StreamableFile(answer.body, { type: answer.headers['content-type'], length: answer.body.length });
  }
}

function parsed(body: Buffer): string | Record<string, unknown> {
  const text = body.toString('utf8');
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch {
    return text;
  }
}
