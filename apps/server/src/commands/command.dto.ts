import { COMMAND_STATUSES, CommandStatus } from '@fleetstream/domain';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNumber, IsObject, IsOptional, Matches, Max, Min, ValidateNested } from 'class-validator';
import { OptionalLimitQuery } from '../common/query-decorators';

const WEEK_S = 7 * 86_400;

/** Per-stage acknowledgment timeouts, in seconds; each defaults to the service setting. */
export class StageTimeoutsDto {
  @ApiPropertyOptional({ description: 'wait for "delivered" before sending again (or timing out after the last attempt)', example: 30 })
  @IsOptional()
  @IsNumber({}, { message: 'timeouts.deliverySeconds must be a number of seconds' })
  @Min(0.05)
  @Max(WEEK_S)
  deliverySeconds?: number;

  @ApiPropertyOptional({ description: 'wait from "delivered" to "accepted"', example: 60 })
  @IsOptional()
  @IsNumber({}, { message: 'timeouts.acceptanceSeconds must be a number of seconds' })
  @Min(0.05)
  @Max(WEEK_S)
  acceptanceSeconds?: number;

  @ApiPropertyOptional({ description: 'wait from "accepted" to "succeeded" or "failed"', example: 600 })
  @IsOptional()
  @IsNumber({}, { message: 'timeouts.executionSeconds must be a number of seconds' })
  @Min(0.05)
  @Max(WEEK_S)
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

  @ApiPropertyOptional({ description: 'seconds until a command that was not delivered expires', example: 3600 })
  @IsOptional()
  @IsNumber({}, { message: 'ttlSeconds must be a number of seconds' })
  @Min(0.1)
  @Max(30 * 86_400)
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
