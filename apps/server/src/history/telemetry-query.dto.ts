import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsIn, IsOptional, IsString } from 'class-validator';
import { OptionalDateTimeQuery, OptionalLimitQuery } from '../common/query-decorators';

const MAX_METRICS = 100;
const BUCKETS = ['1m', '1h'] as const;

/**
 * A readings page cursor: the event time (epoch ms) and sequence of the last reading of the previous
 * page, as `time:seq`. Readable, so that the OpenAPI pattern says exactly which cursors are accepted.
 */
export const READING_CURSOR_PATTERN = '^([0-9]{1,15}):(-?[0-9]{1,15})$';

const commaSeparated = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.split(',').map((item) => item.trim()).filter((item) => item.length > 0) : value;

/** Time range and metric selection shared by the raw and the rollup queries. */
export class TimeRangeQueryDto {
  @OptionalDateTimeQuery('from', 'start of the time range (ISO 8601), inclusive; default 24 h before `to`')
  from?: Date;

  @OptionalDateTimeQuery('to', 'end of the time range (ISO 8601), exclusive; default now')
  to?: Date;

  @ApiPropertyOptional({ description: 'only these metrics, comma-separated or repeated (default all)', type: [String], maxItems: MAX_METRICS, example: ['temperature', 'battery'] })
  @IsOptional()
  @Transform(commaSeparated)
  @IsString({ each: true })
  @ArrayMaxSize(MAX_METRICS)
  metrics?: string[];
}

export class TelemetryQueryDto extends TimeRangeQueryDto {
  @OptionalLimitQuery('newest readings first, at most this many', 10_000)
  limit?: number;

  // held to the pattern where it is decoded (telemetry.controller.ts), with the message clients know
  @ApiPropertyOptional({ description: 'the `nextCursor` of the previous page', type: String, pattern: READING_CURSOR_PATTERN })
  @IsOptional()
  @IsString()
  cursor?: string;
}

export class RollupQueryDto extends TimeRangeQueryDto {
  @ApiProperty({ enum: BUCKETS, type: String, description: 'bucket width' })
  @IsIn(BUCKETS, { message: `bucket must be ${BUCKETS.join(' or ')}` })
  bucket!: (typeof BUCKETS)[number];
}
