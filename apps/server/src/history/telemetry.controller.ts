import { HistoryRepository, ReadingPosition, RollupPoint, StoredReading } from '@fleetstream/history';
import { BadRequestException, Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { RollupQueryDto, TelemetryQueryDto, TimeRangeQueryDto } from './telemetry-query.dto';

const DAY_MS = 86_400_000;

export interface TelemetryPage {
  deviceId: string;
  from: string;
  to: string;
  count: number;
  readings: Omit<StoredReading, 'eventTimeMs'>[];
  /** Pass as `cursor` for the next (older) page; absent on the last page. */
  nextCursor?: string;
}

export interface RollupPage {
  deviceId: string;
  bucket: string;
  from: string;
  to: string;
  points: RollupPoint[];
}

@ApiTags('telemetry')
@Controller('devices/:deviceId/telemetry')
export class TelemetryController {
  constructor(private readonly history: HistoryRepository) {}

  @Get()
  @ApiOperation({ summary: "A device's stored readings in a time range, newest first, paged by cursor" })
  async readings(@Param('deviceId') deviceId: string, @Query() query: TelemetryQueryDto): Promise<TelemetryPage> {
    const { from, to } = timeRange(query);
    const limit = query.limit ?? 100;
    const rows = await this.history.readings({
      deviceId,
      from,
      to,
      limit,
      metrics: query.metrics,
      after: query.cursor === undefined ? undefined : decodeCursor(query.cursor),
    });
    const last = rows.at(-1);
    return {
      deviceId,
      from: new Date(from).toISOString(),
      to: new Date(to).toISOString(),
      count: rows.length,
      readings: rows.map(({ eventTimeMs: _omitted, ...reading }) => reading),
      nextCursor: rows.length === limit && last ? encodeCursor({ eventTime: Number(last.eventTimeMs), seq: Number(last.seq) }) : undefined,
    };
  }

  @Get('rollup')
  @ApiOperation({ summary: 'Per-minute or per-hour min, max, avg, count and last value of each metric' })
  async rollup(@Param('deviceId') deviceId: string, @Query() query: RollupQueryDto): Promise<RollupPage> {
    const { from, to } = timeRange(query);
    const points = await this.history.rollup({ deviceId, bucket: query.bucket, from, to, metrics: query.metrics });
    return { deviceId, bucket: query.bucket, from: new Date(from).toISOString(), to: new Date(to).toISOString(), points };
  }
}

function timeRange(query: TimeRangeQueryDto): { from: number; to: number } {
  const to = query.to?.getTime() ?? Date.now();
  const from = query.from?.getTime() ?? to - DAY_MS;
  if (from >= to) throw new BadRequestException(`from (${new Date(from).toISOString()}) must be before to (${new Date(to).toISOString()})`);
  return { from, to };
}

function encodeCursor(position: ReadingPosition): string {
  return Buffer.from(`${position.eventTime}:${position.seq}`).toString('base64url');
}

function decodeCursor(cursor: string): ReadingPosition {
  const match = /^(\d+):(-?\d+)$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!match) throw new BadRequestException('cursor must be a nextCursor value returned by this endpoint');
  return { eventTime: Number(match[1]), seq: Number(match[2]) };
}
