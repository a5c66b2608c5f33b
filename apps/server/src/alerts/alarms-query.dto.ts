import { ALERT_SEVERITIES, AlertSeverity } from '@fleetstream/domain';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { OptionalLimitQuery, OptionalMatching } from '../common/query-decorators';

export const ALARM_STATES = ['active', 'cleared'] as const;
export type AlarmState = (typeof ALARM_STATES)[number];

/** An alarm cursor: the base64url of the last (device, rule) key of the previous page. */
export const ALARM_CURSOR_PATTERN = '^[A-Za-z0-9_-]{1,2048}$';

/** Filters on alarms, shared by the alarm lists and the stream of alarm changes. */
export class AlarmFilterDto {
  @ApiPropertyOptional({ description: 'only alarms in this state', enum: ALARM_STATES })
  @IsOptional()
  @IsIn(ALARM_STATES, { message: `state must be one of ${ALARM_STATES.join(', ')}` })
  state?: AlarmState;

  @ApiPropertyOptional({ description: 'only alarms of this severity', enum: ALERT_SEVERITIES })
  @IsOptional()
  @IsIn(ALERT_SEVERITIES, { message: `severity must be one of ${ALERT_SEVERITIES.join(', ')}` })
  severity?: AlertSeverity;

  @ApiPropertyOptional({ description: 'only alarms of this rule id' })
  @IsOptional()
  @IsString({ message: 'ruleId must be a string' })
  @MaxLength(200, { message: 'ruleId must be at most 200 characters' })
  ruleId?: string;
}

/** The fleet-wide filters: the per-device route takes the device from its path. */
export class FleetAlarmFilterDto extends AlarmFilterDto {
  @ApiPropertyOptional({ description: 'only alarms of this device' })
  @IsOptional()
  @IsString({ message: 'deviceId must be a string' })
  @MaxLength(200, { message: 'deviceId must be at most 200 characters' })
  deviceId?: string;
}

export class AlarmsPageQueryDto extends AlarmFilterDto {
  @OptionalLimitQuery('alarms per page', 1000)
  limit?: number;

  @OptionalMatching(ALARM_CURSOR_PATTERN, 'cursor must be the nextCursor of a previous page', 'the nextCursor of the previous page')
  cursor?: string;
}

export class FleetAlarmsPageQueryDto extends AlarmsPageQueryDto {
  @ApiPropertyOptional({ description: 'only alarms of this device' })
  @IsOptional()
  @IsString({ message: 'deviceId must be a string' })
  @MaxLength(200, { message: 'deviceId must be at most 200 characters' })
  deviceId?: string;
}
