import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { processorReadiness } from '../health/processor-readiness';
import { ReadinessChecks } from '../health/readiness-checks';
import { TwinReadModel } from './twin-read-model';
import { TwinProcessor } from './twin.processor';

/**
 * Readiness of the twin processor: its consumer runs, and it restored every partition it was assigned
 * from the read model before processing it. (The read model's own restore is in the `views` check.)
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
    return processorReadiness(this.indicators, 'twins', this.processor.status(), { twins: this.twins.count });
  }
}
