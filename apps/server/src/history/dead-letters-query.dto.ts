import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { OptionalLimitQuery, OptionalMatching } from '../common/query-decorators';

/**
 * A dead-letters page cursor: the time (epoch ms), source topic, partition and offset of the last
 * dead letter of the previous page, as `time:topic:partition:offset` (topic names hold no colon).
 */
export const DEAD_LETTER_CURSOR_PATTERN = '^([0-9]{1,15}):([A-Za-z0-9._-]{1,249}):([0-9]{1,5}):([0-9]{1,19})$';

export class DeadLettersQueryDto {
  @ApiPropertyOptional({ description: 'only dead letters of this reason (see `reasons` in GET /dead-letters/summary)', type: String, maxLength: 100, example: 'malformed' })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  reason?: string;

  @ApiPropertyOptional({ description: 'only dead letters read from this topic', type: String, maxLength: 249, example: 'fleet.telemetry' })
  @IsOptional()
  @IsString()
  @MaxLength(249)
  source?: string;

  @OptionalLimitQuery('newest first, at most this many', 500)
  limit?: number;

  @OptionalMatching(DEAD_LETTER_CURSOR_PATTERN, 'cursor must be a nextCursor value returned by this endpoint', 'the `nextCursor` of the previous page')
  cursor?: string;
}
