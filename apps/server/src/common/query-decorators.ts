import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsDate, IsInt, IsOptional, Max, Min } from 'class-validator';

/** An optional ISO 8601 date-time query parameter, converted to a Date, with an error naming it. */
export function OptionalDateTimeQuery(name: string, description: string) {
  return applyDecorators(
    ApiPropertyOptional({ description, format: 'date-time' }),
    IsOptional(),
    Type(() => Date),
    IsDate({ message: `${name} must be an ISO 8601 date-time, e.g. 2026-11-23T10:00:00Z` }),
  );
}

/** An optional page size query parameter, 1 to `maximum`. */
export function OptionalLimitQuery(description: string, maximum: number) {
  return applyDecorators(
    ApiPropertyOptional({ description, default: 100, maximum }),
    IsOptional(),
    Type(() => Number),
    IsInt({ message: 'limit must be a whole number' }),
    Min(1),
    Max(maximum),
  );
}
