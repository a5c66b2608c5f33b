import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { ReadinessChecks } from '../health/readiness-checks';
import { TwinReadModel } from './twin-read-model';
import { TwinProcessor } from './twin.processor';

/**
 * Readiness of the twin processor: it restored every partition it was assigned from the read model
 * before processing it. (The read model's own restore is in the `views` check.)
 */
@Injectable()
export class TwinsHealth {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly twins: TwinReadModel,
    private readonly processor: TwinProcessor,
    readiness: ReadinessChecks,
  ) {
    readiness.add(() => this.restored());
  }

  restored() {
    const check = this.indicators.check('twins');
    const { assigned, restored } = this.processor.restoration();
    const pending = assigned.filter((partition) => !restored.includes(partition));
    if (pending.length > 0) return check.down({ message: `twins of partitions ${pending.join(', ')} are still being restored`, assigned, restored });
    return check.up({ twins: this.twins.count, assigned, restored });
  }
}
