import { ATTRIBUTE_FILTER_PATTERN, METRIC_FILTER_PATTERN } from '@fleetstream/domain';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional } from 'class-validator';
import { OptionalDateTimeQuery, OptionalLimitQuery, OptionalMatching } from '../common/query-decorators';
import { DEVICE_CURSOR_PATTERN } from './device-cursor';

/** Filters on twins, shared by the device list and the stream of twin changes. */
export class TwinFilterDto {
  @ApiPropertyOptional({ description: 'only devices that are (true) or are not (false) online', type: Boolean })
  @IsOptional()
  @Transform(({ value }) => (value === 'true' ? true : value === 'false' ? false : value))
  @IsBoolean({ message: 'online must be true or false' })
  online?: boolean;

  @OptionalDateTimeQuery('lastSeenBefore', 'last seen before this time (ISO 8601)')
  lastSeenBefore?: Date;

  @OptionalDateTimeQuery('lastSeenAfter', 'last seen at or after this time (ISO 8601)')
  lastSeenAfter?: Date;

  @OptionalMatching(ATTRIBUTE_FILTER_PATTERN, 'attribute must be name:value', 'reported attribute equals, name:value', 'firmware:1.5.0')
  attribute?: string;

  @OptionalMatching(METRIC_FILTER_PATTERN, 'metric must be name:min:max, e.g. battery::20', 'reported metric within a range, name:min:max (either bound may be empty)', 'battery::20')
  metric?: string;
}

export class DevicesQueryDto extends TwinFilterDto {
  @OptionalLimitQuery('devices per page', 1000)
  limit?: number;

  @OptionalMatching(DEVICE_CURSOR_PATTERN, 'cursor must be the nextCursor of a previous page', 'the nextCursor of the previous page')
  cursor?: string;
}
