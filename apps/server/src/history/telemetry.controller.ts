import { HistoryRepository, ReadingPosition, RollupPoint, StoredReading } from '@fleetstream/history';
import { BadRequestException, Controller, Get, Inject, Query, UseInterceptors } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { READING_CURSOR_PATTERN, RollupQueryDto, TelemetryQueryDto, TimeRangeQueryDto } from './telemetry-query.dto';
import { DeviceIdParam } from '../common/device-id.pipe';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { Access } from '../auth/access.decorator';
import { HistoryReadsInterceptor } from './history-reads.interceptor';

const DAY_MS = 86_400_000;
const BUCKET_MS = { '1m': 60_000, '1h': 3_600_000 } as const;
const READING_CURSOR = new RegExp(READING_CURSOR_PATTERN);

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
@UseInterceptors(HistoryReadsInterceptor)
@ApiResponse({ status: 503, description: 'history is not held here (HISTORY_TRANSPORT=chdb, PROCESSORS without history) and HISTORY_URL is not set or its instance cannot be reached' })
@ApiResponse({ status: 504, description: 'the HISTORY_URL instance did not answer within HISTORY_FORWARD_TIMEOUT_MS' })
export class TelemetryController {
  constructor(
    private readonly history: HistoryRepository,
    @Inject(fleetstreamConfig.KEY) private readonly config: AppConfig,
  ) {}

  @Get()
  @Access('history:read')
  @ApiOperation({ summary: "A device's stored readings in a time range, newest first, paged by cursor" })
  @ApiResponse({ status: 200, description: 'a page of readings (none for a device without history)' })
  @ApiResponse({ status: 400, description: 'a query parameter out of its bounds, or `from` not before `to`' })
  async readings(@DeviceIdParam() deviceId: string, @Query() query: TelemetryQueryDto): Promise<TelemetryPage> {
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
  @Access('history:read')
  @ApiOperation({ summary: 'Per-minute or per-hour min, max, avg, count and last value of each metric', description: 'At most ROLLUP_MAX_BUCKETS buckets per query (400 beyond).' })
  @ApiResponse({ status: 200, description: 'the buckets that hold readings' })
  @ApiResponse({ status: 400, description: 'a query parameter out of its bounds, `from` not before `to`, or more than ROLLUP_MAX_BUCKETS buckets' })
  async rollup(@DeviceIdParam() deviceId: string, @Query() query: RollupQueryDto): Promise<RollupPage> {
    const { from, to } = timeRange(query);
    const buckets = Math.ceil((to - from) / BUCKET_MS[query.bucket]);
    if (buckets > this.config.ROLLUP_MAX_BUCKETS) {
      throw new BadRequestException(
        `from ${new Date(from).toISOString()} to ${new Date(to).toISOString()} spans ${buckets} buckets of ${query.bucket}; at most ${this.config.ROLLUP_MAX_BUCKETS} (ROLLUP_MAX_BUCKETS) per query: narrow the range, use bucket=1h, or page through it`,
      );
    }
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
  return `${position.eventTime}:${position.seq}`;
}

function decodeCursor(cursor: string): ReadingPosition {
  const match = READING_CURSOR.exec(cursor);
  if (!match) throw new BadRequestException('cursor must be a nextCursor value returned by this endpoint');
  return { eventTime: Number(match[1]), seq: Number(match[2]) };
}
