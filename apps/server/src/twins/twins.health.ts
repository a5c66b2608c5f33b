import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { TwinReadModel } from './twin-read-model';
import { TwinProcessor } from './twin.processor';

/**
 * Readiness of the twins: the read model restored fleet.twins (so no live device reads as 404), and
 * the processor restored every partition it was assigned before processing it.
 */
@Injectable()
export class TwinsHealth {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly twins: TwinReadModel,
    private readonly processor: TwinProcessor,
  ) {}

  restored() {
    const check = this.indicators.check('twins');
    const restore = this.twins.restore;
    const { assigned, restored } = this.processor.restoration();
    const pending = assigned.filter((partition) => !restored.includes(partition));
    switch (restore.state) {
      case 'restored':
        if (pending.length > 0) return check.down({ message: `twins of partitions ${pending.join(', ')} are still being restored`, assigned, restored });
        return check.up({ twins: this.twins.count, restoredInMs: restore.ms, assigned, restored });
      case 'restoring':
        return check.down({ message: `restoring twins from fleet.twins: ${this.twins.count} so far` });
      case 'failed':
        return check.down({ message: restore.error });
    }
  }
}
