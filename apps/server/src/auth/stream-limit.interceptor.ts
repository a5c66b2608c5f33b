import { applyDecorators, CallHandler, ExecutionContext, HttpException, HttpStatus, Inject, Injectable, NestInterceptor, UseInterceptors } from '@nestjs/common';
import { ApiTooManyRequestsResponse } from '@nestjs/swagger';
import { finalize, Observable } from 'rxjs';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { principalOf } from './principal';

/**
 * At most SSE_MAX_STREAMS_PER_PRINCIPAL open event streams per principal on this instance: each one
 * holds a connection and a subscription, so one leaked or hostile client cannot exhaust them.
 */
@Injectable()
export class StreamLimitInterceptor implements NestInterceptor {
  private readonly open = new Map<string, number>();

  constructor(@Inject(fleetstreamConfig.KEY) private readonly config: AppConfig) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const actor = principalOf(context.switchToHttp().getRequest())!.actor;
    const count = this.open.get(actor) ?? 0;
    if (count >= this.config.SSE_MAX_STREAMS_PER_PRINCIPAL) {
      throw new HttpException(
        {
          statusCode: HttpStatus.TOO_MANY_REQUESTS,
          error: 'Too Many Requests',
          message: `${actor} already holds ${count} event streams on this instance (SSE_MAX_STREAMS_PER_PRINCIPAL); close one first`,
        },
        HttpStatus.TOO_MANY_REQUESTS,
      );
    }
    this.open.set(actor, count + 1);
    // the stream ends when the client disconnects (Nest unsubscribes) or the handler fails
    return next.handle().pipe(
      finalize(() => {
        const left = (this.open.get(actor) ?? 1) - 1;
        if (left > 0) this.open.set(actor, left);
        else this.open.delete(actor);
      }),
    );
  }
}

/** An SSE route under the per-principal stream cap, and the 429 in its OpenAPI entry. */
export const StreamLimit = () =>
  applyDecorators(
    UseInterceptors(StreamLimitInterceptor),
    ApiTooManyRequestsResponse({ description: 'this principal already holds SSE_MAX_STREAMS_PER_PRINCIPAL streams on this instance' }),
  );
