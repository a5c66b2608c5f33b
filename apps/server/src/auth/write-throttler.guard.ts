import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard } from '@nestjs/throttler';
import { principalOf } from './principal';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * WRITE_RATE_LIMIT writes a minute per principal (not per address: many callers share a proxy, one
 * key can spread over many addresses). Reads are not counted. Over the limit: 429 with Retry-After.
 */
@Injectable()
export class WriteThrottlerGuard extends ThrottlerGuard {
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<{ method: string; user?: unknown }>();
    // public routes have no principal and are all reads
    return READS.has(request.method) || principalOf(request) === undefined;
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    return principalOf(request)!.actor;
  }
}
