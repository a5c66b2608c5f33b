import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsInt, IsOptional, Max, Min } from 'class-validator';

export class TelemetryQueryDto {
  @ApiPropertyOptional({ description: 'start of the time range (ISO 8601), inclusive; default 24 h ago' })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'from must be an ISO 8601 date-time, e.g. 2026-11-23T10:00:00Z' })
  from?: Date;

  @ApiPropertyOptional({ description: 'end of the time range (ISO 8601), exclusive; default now' })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'to must be an ISO 8601 date-time, e.g. 2026-11-23T11:00:00Z' })
  to?: Date;

  @ApiPropertyOptional({ description: 'most recent readings first, at most this many', default: 100, maximum: 10000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_000)
  limit?: number;
}
