import { COMMAND_STATUSES, CommandStatus } from '@fleetstream/domain';
import { applyDecorators } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsIn, IsInt, IsNumber, IsObject, IsOptional, IsString, Length, Matches, Max, Min, ValidateNested } from 'class-validator';
import { ClosedSchema, OptionalLimitQuery } from '../common/query-decorators';

const WEEK_S = 7 * 86_400;
const MAX_ATTEMPTS = 100;
const REASON_MAX_LENGTH = 500;
const COMMAND_NAME_PATTERN = '^[A-Za-z0-9._:/-]{1,128}$';

/** An Idempotency-Key header: 1 to 200 visible ASCII characters (the check and the OpenAPI pattern). */
export const IDEMPOTENCY_KEY_PATTERN = '^[!-~]{1,200}$';

/** An optional duration in seconds, from `min` to `max`, with an error naming the field. */
function OptionalSeconds(field: string, min: number, max: number, description: string, example: number) {
  return applyDecorators(
    ApiPropertyOptional({ description, example, type: Number, nullable: true, minimum: min, maximum: max }),
    IsOptional(),
    IsNumber({}, { message: `${field} must be a number of seconds` }),
    Min(min),
    Max(max),
  );
}

/** Per-stage acknowledgment timeouts, in seconds; each defaults to the service setting. */
@ClosedSchema()
export class StageTimeoutsDto {
  @OptionalSeconds('timeouts.deliverySeconds', 0.05, WEEK_S, 'wait for "delivered" before sending again (or timing out after the last attempt)', 30)
  deliverySeconds?: number;

  @OptionalSeconds('timeouts.acceptanceSeconds', 0.05, WEEK_S, 'wait from "delivered" to "accepted"', 60)
  acceptanceSeconds?: number;

  @OptionalSeconds('timeouts.executionSeconds', 0.05, WEEK_S, 'wait from "accepted" to "succeeded" or "failed"', 600)
  executionSeconds?: number;
}

// optional fields are `nullable` in the document: IsOptional reads null as absent (the default applies)
@ClosedSchema()
export class CreateCommandDto {
  @ApiProperty({ description: 'what the device should do', example: 'reboot', type: String, pattern: COMMAND_NAME_PATTERN })
  @Matches(new RegExp(COMMAND_NAME_PATTERN), { message: 'name must be 1 to 128 letters, digits or . _ : / -' })
  name!: string;

  @ApiPropertyOptional({ description: 'parameters for the device, a JSON object (at most COMMAND_MAX_PARAMS_BYTES of JSON: 413 beyond)', type: 'object', additionalProperties: true, nullable: true, example: { delaySeconds: 5 } })
  @IsOptional()
  @IsObject({ message: 'params must be a JSON object' })
  params?: Record<string, unknown>;

  @OptionalSeconds('ttlSeconds', 0.1, 30 * 86_400, 'seconds until a command that was not delivered expires', 3600)
  ttlSeconds?: number;

  @ApiPropertyOptional({ type: StageTimeoutsDto, nullable: true })
  @IsOptional()
  @ValidateNested()
  @Type(() => StageTimeoutsDto)
  timeouts?: StageTimeoutsDto;

  @ApiPropertyOptional({ description: 'sends in total while delivery is not acknowledged', example: 5, type: 'integer', minimum: 1, maximum: MAX_ATTEMPTS, nullable: true })
  @IsOptional()
  @IsInt({ message: 'maxAttempts must be a whole number' })
  @Min(1)
  @Max(MAX_ATTEMPTS)
  maxAttempts?: number;

  @ApiPropertyOptional({ description: "false: do not wait for the device's earlier commands", type: Boolean, nullable: true, default: true })
  @IsOptional()
  @IsBoolean({ message: 'ordered must be true or false' })
  ordered?: boolean;
}

@ClosedSchema()
export class CancelCommandDto {
  // characters are code points in both the check and JSON Schema (an emoji is one, not two UTF-16 units)
  @ApiPropertyOptional({ description: 'why, recorded in the history', example: 'wrong device', type: String, minLength: 1, maxLength: REASON_MAX_LENGTH, nullable: true })
  @IsOptional()
  @IsString({ message: `reason must be 1 to ${REASON_MAX_LENGTH} characters` })
  @Length(1, REASON_MAX_LENGTH, { message: `reason must be 1 to ${REASON_MAX_LENGTH} characters` })
  reason?: string;
}

export class DeviceCommandsQueryDto {
  @ApiPropertyOptional({ enum: COMMAND_STATUSES, type: String, description: 'only commands in this state' })
  @IsOptional()
  @IsIn(COMMAND_STATUSES, { message: `state must be one of ${COMMAND_STATUSES.join(', ')}` })
  state?: CommandStatus;

  @OptionalLimitQuery('at most this many, newest first', 1000)
  limit?: number;
}
