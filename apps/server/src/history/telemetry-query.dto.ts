import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { ArrayMaxSize, IsIn, IsOptional, IsString, Matches } from 'class-validator';
import { OptionalDateTimeQuery, OptionalLimitQuery } from '../common/query-decorators';

const commaSeparated = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.split(',').map((item) => item.trim()).filter((item) => item.length > 0) : value;

/** Time range and metric selection shared by the raw and the rollup queries. */
export class TimeRangeQueryDto {
  @OptionalDateTimeQuery('from', 'start of the time range (ISO 8601), inclusive; default 24 h before `to`')
  from?: Date;

  @OptionalDateTimeQuery('to', 'end of the time range (ISO 8601), exclusive; default now')
  to?: Date;

  @ApiPropertyOptional({ description: 'only these metrics, comma-separated (default all)', example: 'temperature,battery' })
  @IsOptional()
  @Transform(commaSeparated)
  @IsString({ each: true })
  @ArrayMaxSize(100)
  metrics?: string[];
}

export class TelemetryQueryDto extends TimeRangeQueryDto {
  @OptionalLimitQuery('newest readings first, at most this many', 10_000)
  limit?: number;

  @ApiPropertyOptional({ description: 'the `nextCursor` of the previous page' })
  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'cursor must be a nextCursor value returned by this endpoint' })
  cursor?: string;
}

export class RollupQueryDto extends TimeRangeQueryDto {
  @ApiProperty({ enum: ['1m', '1h'], description: 'bucket width' })
  @IsIn(['1m', '1h'], { message: 'bucket must be 1m or 1h' })
  bucket!: '1m' | '1h';
}
