import { Body, Controller, Get, Headers, HttpCode, HttpStatus, Param, Post, Query, Res, BadRequestException } from '@nestjs/common';
import { ApiHeader, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CancelCommandDto, CreateCommandDto, DeviceCommandsQueryDto, IDEMPOTENCY_KEY_PATTERN } from './command.dto';
import { commandView, CommandView } from './command.view';
import { CommandsService } from './commands.service';
import { Access } from '../auth/access.decorator';
import { Actor } from '../auth/principal';
import { DeviceIdParam } from '../common/device-id.pipe';

const IDEMPOTENCY_KEY = new RegExp(IDEMPOTENCY_KEY_PATTERN);
const COMMAND_ID = ApiParam({ name: 'commandId', description: 'the id the command was recorded with (Location of its POST)', schema: { type: 'string' } });
const UNKNOWN_COMMAND = ApiResponse({ status: 404, description: 'no such command' });

@ApiTags('commands')
@Controller()
export class CommandsController {
  constructor(private readonly commands: CommandsService) {}

  @Post('devices/:deviceId/commands')
  @Access('commands:write')
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({ summary: 'Record a command for a device; the saga delivers it when the device is online' })
  @ApiHeader({ name: 'Idempotency-Key', required: false, description: 'same key + same body → the same command; same key + another body → 409', schema: { type: 'string', pattern: IDEMPOTENCY_KEY_PATTERN } })
  @ApiResponse({ status: 202, description: 'recorded; Location names the command' })
  @ApiResponse({ status: 400, description: 'a body field out of its bounds, or a malformed Idempotency-Key' })
  @ApiResponse({ status: 409, description: 'the Idempotency-Key was used with another body' })
  @ApiResponse({ status: 413, description: 'params larger than COMMAND_MAX_PARAMS_BYTES of JSON' })
  async create(
    @DeviceIdParam() deviceId: string,
    @Body() body: CreateCommandDto,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Actor() actor: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<CommandView> {
    if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
      throw new BadRequestException('Idempotency-Key must be 1 to 200 visible ASCII characters');
    }
    const { state, replayed } = await this.commands.request(deviceId, body, idempotencyKey, actor);
    res.setHeader('Location', `/commands/${state.request.commandId}`);
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    return commandView(state);
  }

  @Get('commands/:commandId')
  @Access('commands:read')
  @ApiOperation({ summary: 'A command: state, attempts, deadlines and its full event history' })
  @COMMAND_ID
  @ApiResponse({ status: 200, description: 'the command' })
  @UNKNOWN_COMMAND
  get(@Param('commandId') commandId: string): CommandView {
    return commandView(this.commands.get(commandId));
  }

  @Get('devices/:deviceId/commands')
  @Access('commands:read')
  @ApiOperation({ summary: "A device's commands, newest first, optionally in one state" })
  @ApiResponse({ status: 200, description: "the device's commands (none for a device that never had one)" })
  forDevice(@DeviceIdParam() deviceId: string, @Query() query: DeviceCommandsQueryDto): { count: number; commands: CommandView[] } {
    const commands = this.commands.forDevice(deviceId, query.state, query.limit ?? 100).map(commandView);
    return { count: commands.length, commands };
  }

  @Post('commands/:commandId/cancel')
  @Access('commands:write')
  @ApiOperation({ summary: 'Cancel a command that has not ended; a device that has it is told to stop' })
  @COMMAND_ID
  @ApiResponse({ status: 200, description: 'cancelled' })
  @ApiResponse({ status: 202, description: 'cancellation recorded, not yet confirmed by the saga' })
  @ApiResponse({ status: 400, description: 'reason out of its bounds' })
  @UNKNOWN_COMMAND
  @ApiResponse({ status: 409, description: 'the command already ended' })
  async cancel(@Param('commandId') commandId: string, @Body() body: CancelCommandDto, @Actor() actor: string, @Res({ passthrough: true }) res: Response): Promise<CommandView> {
    const outcome = await this.commands.cancel(commandId, body.reason, actor);
    res.status(outcome.settled ? HttpStatus.OK : HttpStatus.ACCEPTED);
    return commandView(outcome.state);
  }
}
