import { Injectable } from '@nestjs/common';
import type { HealthIndicatorFunction } from '@nestjs/terminus';

/**
 * The checks GET /ready runs besides the dependencies: a feature adds its own (say, a processor's
 * liveness) from its provider's constructor, without touching the health controller.
 */
@Injectable()
export class ReadinessChecks {
  private readonly checks: HealthIndicatorFunction[] = [];

  add(check: HealthIndicatorFunction): void {
    this.checks.push(check);
  }

  all(): readonly HealthIndicatorFunction[] {
    return this.checks;
  }
}
