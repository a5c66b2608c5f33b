import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional, IsString, Matches } from 'class-validator';
import { OptionalDateTimeQuery, OptionalLimitQuery } from '../common/query-decorators';

/** Filters on twins, shared by the device list and the stream of twin changes. */
export class TwinFilterDto {
  @ApiPropertyOptional({ description: 'only devices that are (true) or are not (false) online' })
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'online must be true or false' })
  online?: boolean;

  @OptionalDateTimeQuery('lastSeenBefore', 'last seen before this time (ISO 8601)')
  lastSeenBefore?: Date;

  @OptionalDateTimeQuery('lastSeenAfter', 'last seen at or after this time (ISO 8601)')
  lastSeenAfter?: Date;

  @ApiPropertyOptional({ description: 'reported attribute equals, name:value', example: 'firmware:1.5.0' })
  @IsOptional()
  @Matches(/^[^:]+:.*$/, { message: 'attribute must be name:value' })
  attribute?: string;

  @ApiPropertyOptional({ description: 'reported metric within a range, name:min:max (either bound may be empty)', example: 'battery::20' })
  @IsOptional()
  @Matches(/^[^:]+:(-?\d+(\.\d+)?)?:(-?\d+(\.\d+)?)?$/, { message: 'metric must be name:min:max, e.g. battery::20' })
  metric?: string;
}

export class DevicesQueryDto extends TwinFilterDto {
  @OptionalLimitQuery('devices per page', 1000)
  limit?: number;

  @ApiPropertyOptional({ description: 'the nextCursor of the previous page' })
  @IsOptional()
  @IsString()
  cursor?: string;
}
