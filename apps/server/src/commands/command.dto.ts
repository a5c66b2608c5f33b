import { COMMAND_STATUSES, CommandStatus } from '@fleetstream/domain';
import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNumber, IsObject, IsOptional, Matches, Max, Min, ValidateNested } from 'class-validator';
import { OptionalLimitQuery } from '../common/query-decorators';

const WEEK_S = 7 * 86_400;

/** An optional duration in seconds, from `min` to `max`, with an error naming the field. */
function OptionalSeconds(field: string, min: number, max: number, description: string, example: number) {
  return applyDecorators(
    ApiPropertyOptional({ description, example }),
    IsOptional(),
    IsNumber({}, { message: `${field} must be a number of seconds` }),
    Min(min),
    Max(max),
  );
}

/** Per-stage acknowledgment timeouts, in seconds; each defaults to the service setting. */
export class StageTimeoutsDto {
  @OptionalSeconds('timeouts.deliverySeconds', 0.05, WEEK_S, 'wait for "delivered" before sending again (or timing out after the last attempt)', 30)
  deliverySeconds?: number;

  @OptionalSeconds('timeouts.acceptanceSeconds', 0.05, WEEK_S, 'wait from "delivered" to "accepted"', 60)
  acceptanceSeconds?: number;

  @OptionalSeconds('timeouts.executionSeconds', 0.05, WEEK_S, 'wait from "accepted" to "succeeded" or "failed"', 600)
  executionSeconds?: number;
}

export class CreateCommandDto {
  @ApiProperty({ description: 'what the device should do', example: 'reboot' })
  @Matches(/^[A-Za-z0-9._:/-]{1,128}$/, { message: 'name must be 1 to 128 letters, digits or . _ : / -' })
  name!: string;

  @ApiPropertyOptional({ description: 'parameters for the device, a JSON object', example: { delaySeconds: 5 } })
  @IsOptional()
  @IsObject({ message: 'params must be a JSON object' })
  params?: Record<string, unknown>;

  @OptionalSeconds('ttlSeconds', 0.1, 30 * 86_400, 'seconds until a command that was not delivered expires', 3600)
  ttlSeconds?: number;

  @ApiPropertyOptional({ type: StageTimeoutsDto })
  @IsOptional()
  @ValidateNested()
  @Type(() => StageTimeoutsDto)
  timeouts?: StageTimeoutsDto;

  @ApiPropertyOptional({ description: 'sends in total while delivery is not acknowledged', example: 5 })
  @IsOptional()
  @IsInt({ message: 'maxAttempts must be a whole number' })
  @Min(1)
  @Max(100)
  maxAttempts?: number;

  @ApiPropertyOptional({ description: "false: do not wait for the device's earlier commands", default: true })
  @IsOptional()
  @IsBoolean({ message: 'ordered must be true or false' })
  ordered?: boolean;
}

export class CancelCommandDto {
  @ApiPropertyOptional({ description: 'why, recorded in the history', example: 'wrong device' })
  @IsOptional()
  @Matches(/^.{1,500}$/s, { message: 'reason must be 1 to 500 characters' })
  reason?: string;
}

export class DeviceCommandsQueryDto {
  @ApiPropertyOptional({ enum: COMMAND_STATUSES, description: 'only commands in this state' })
  @IsOptional()
  @IsIn(COMMAND_STATUSES, { message: `state must be one of ${COMMAND_STATUSES.join(', ')}` })
  state?: CommandStatus;

  @OptionalLimitQuery('at most this many, newest first', 1000)
  limit?: number;
}
