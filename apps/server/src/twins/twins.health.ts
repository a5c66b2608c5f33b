import { Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { TwinReadModel } from './twin-read-model';

/** Readiness of the twin read model: up once fleet.twins is restored, so no live device reads as 404. */
@Injectable()
export class TwinsHealth {
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly twins: TwinReadModel,
  ) {}

  restored() {
    const check = this.indicators.check('twins');
    const restore = this.twins.restore;
    switch (restore.state) {
      case 'restored':
        return check.up({ twins: this.twins.count, restoredInMs: restore.ms });
      case 'restoring':
        return check.down({ message: `restoring twins from fleet.twins: ${this.twins.count} so far` });
      case 'failed':
        return check.down({ message: restore.error });
    }
  }
}
