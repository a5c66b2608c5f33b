import { HistoryRepository, StoredReading } from '@fleetstream/history';
import { BadRequestException, Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { TelemetryQueryDto } from './telemetry-query.dto';

const DAY_MS = 86_400_000;

export interface TelemetryPage {
  deviceId: string;
  from: string;
  to: string;
  count: number;
  readings: StoredReading[];
}

@ApiTags('telemetry')
@Controller('devices/:deviceId/telemetry')
export class TelemetryController {
  constructor(private readonly history: HistoryRepository) {}

  @Get()
  @ApiOperation({ summary: "A device's stored readings in a time range, newest first" })
  async readings(@Param('deviceId') deviceId: string, @Query() query: TelemetryQueryDto): Promise<TelemetryPage> {
    const to = query.to?.getTime() ?? Date.now();
    const from = query.from?.getTime() ?? to - DAY_MS;
    if (from >= to) throw new BadRequestException(`from (${new Date(from).toISOString()}) must be before to (${new Date(to).toISOString()})`);
    const readings = await this.history.readings({ deviceId, from, to, limit: query.limit ?? 100 });
    return { deviceId, from: new Date(from).toISOString(), to: new Date(to).toISOString(), count: readings.length, readings };
  }
}
