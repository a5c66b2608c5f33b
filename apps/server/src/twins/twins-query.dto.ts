import { ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsOptional } from 'class-validator';
import { OptionalDateTimeQuery, OptionalLimitQuery, OptionalMatching } from '../common/query-decorators';
import { DEVICE_CURSOR_PATTERN } from './device-cursor';

/** name:value; the value may hold anything, colons and line breaks too (`[\s\S]`, as `.` differs between engines). */
const ATTRIBUTE_FILTER = '^[^:]+:[\\s\\S]*$';
/** name:min:max, each bound a decimal number or empty. */
const METRIC_FILTER = '^[^:]+:(-?[0-9]+(\\.[0-9]+)?)?:(-?[0-9]+(\\.[0-9]+)?)?$';

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

  @OptionalMatching(ATTRIBUTE_FILTER, 'attribute must be name:value', 'reported attribute equals, name:value', 'firmware:1.5.0')
  attribute?: string;

  @OptionalMatching(METRIC_FILTER, 'metric must be name:min:max, e.g. battery::20', 'reported metric within a range, name:min:max (either bound may be empty)', 'battery::20')
  metric?: string;
}

export class DevicesQueryDto extends TwinFilterDto {
  @OptionalLimitQuery('devices per page', 1000)
  limit?: number;

  @OptionalMatching(DEVICE_CURSOR_PATTERN, 'cursor must be the nextCursor of a previous page', 'the nextCursor of the previous page')
  cursor?: string;
}
