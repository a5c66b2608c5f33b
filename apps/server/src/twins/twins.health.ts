import { Injectable } from '@nestjs/common';
import { ReadinessChecks } from '../health/readiness-checks';
import { TwinReadModel } from './twin-read-model';
import { TwinProcessor } from './twin.processor';

/**
 * Readiness of the twin processor: its consumer runs, it restored every partition it was assigned
 * from the read model before processing it, and no partition's batch keeps failing. (The read
 * model's own restore is in the `views` check.)
 */
@Injectable()
export class TwinsHealth {
  constructor(twins: TwinReadModel, processor: TwinProcessor, readiness: ReadinessChecks) {
    readiness.addProcessor('twins', () => processor.status(), () => ({ twins: twins.count }));
  }
}
