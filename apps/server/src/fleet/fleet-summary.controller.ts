import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Access } from '../auth/access.decorator';
import { FleetSummary, FleetSummaryService } from './fleet-summary.service';

const count = { type: 'integer', minimum: 0 } as const;

/** GET /devices/summary: there is no GET /devices/:deviceId (a twin is /devices/:deviceId/twin) for "summary" to collide with. */
@ApiTags('twins')
@Controller('devices')
export class FleetSummaryController {
  constructor(private readonly fleet: FleetSummaryService) {}

  @Get('summary')
  @Access('twins:read')
  @ApiOperation({
    summary: 'Fleet header numbers: exact device counts by connectivity, active alarms by severity, ingest rate and lag',
    description:
      'Counts from this instance\'s twin and alert-state read models. `ingest.recordsPerSecond` is the history writer of the answering instance (`ingest.measuredBy`), null where it does not run; `ingest.lag` is each telemetry-reading group\'s committed-offset lag on fleet.telemetry (the same from every instance), null when Kafka does not answer.',
  })
  @ApiOkResponse({
    description: 'the summary',
    schema: {
      type: 'object',
      properties: {
        at: { type: 'string', format: 'date-time' },
        devices: { type: 'object', properties: { total: count, online: count, offline: count, silent: count } },
        activeAlarms: { type: 'object', properties: { critical: count, major: count, minor: count, warning: count, info: count } },
        ingest: {
          type: 'object',
          properties: {
            recordsPerSecond: { type: 'number', nullable: true },
            measuredBy: { type: 'string', example: 'fleet-1:4242' },
            lag: { type: 'array', nullable: true, items: { type: 'object', properties: { group: { type: 'string', example: 'fleet.history-writer' }, records: count } } },
          },
        },
      },
    },
  })
  summary(): Promise<FleetSummary> {
    return this.fleet.summary();
  }
}
