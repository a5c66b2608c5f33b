import { Body, Controller, HttpStatus, Param, Post, Res } from '@nestjs/common';
import { ApiOperation, ApiParam, ApiPropertyOptional, ApiResponse, ApiTags } from '@nestjs/swagger';
import { IsOptional, IsString, Length } from 'class-validator';
import type { Response } from 'express';
import { Access } from '../auth/access.decorator';
import { Actor } from '../auth/principal';
import { ClosedSchema } from '../common/query-decorators';
import { AlertAcknowledgmentsService } from './alert-acknowledgments.service';
import { AlarmView } from './alerts.service';

const NOTE_MAX_LENGTH = 1000;

@ClosedSchema()
export class AcknowledgeAlarmDto {
  @ApiPropertyOptional({ description: 'why, recorded with the acknowledgment', example: 'crew on site', type: String, minLength: 1, maxLength: NOTE_MAX_LENGTH })
  @IsOptional()
  @IsString({ message: `note must be 1 to ${NOTE_MAX_LENGTH} characters` })
  @Length(1, NOTE_MAX_LENGTH, { message: `note must be 1 to ${NOTE_MAX_LENGTH} characters` })
  note?: string;
}

@ApiTags('alerts')
@Controller()
export class AlertAcknowledgmentsController {
  constructor(private readonly acknowledgments: AlertAcknowledgmentsService) {}

  @Post('alerts/:id/acknowledge')
  @Access('alerts:acknowledge')
  @ApiOperation({ summary: 'Acknowledge an active alarm; the first acknowledgment stands, a repeat changes nothing' })
  @ApiParam({ name: 'id', description: 'the alarm id (`<ruleId>:<deviceId>:<n>`, as on fleet.alerts)', schema: { type: 'string' } })
  @ApiResponse({ status: 200, description: "acknowledged (now or before): the alarm, as GET /alerts shows it" })
  @ApiResponse({ status: 202, description: 'acknowledgment recorded, not yet confirmed by the alert processor' })
  @ApiResponse({ status: 400, description: 'note out of its bounds' })
  @ApiResponse({ status: 404, description: 'no such alarm' })
  @ApiResponse({ status: 409, description: 'the alarm is not active (it cleared)' })
  async acknowledge(@Param('id') alarmId: string, @Body() body: AcknowledgeAlarmDto, @Actor() actor: string, @Res({ passthrough: true }) res: Response): Promise<AlarmView> {
    const outcome = await this.acknowledgments.acknowledge(alarmId, body.note ?? null, actor);
    res.status(outcome.settled ? HttpStatus.OK : HttpStatus.ACCEPTED);
    return outcome.alarm;
  }
}
