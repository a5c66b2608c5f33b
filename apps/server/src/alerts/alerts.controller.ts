import { Controller, Get, MessageEvent, Query, Sse } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import { Observable } from 'rxjs';
import { Access } from '../auth/access.decorator';
import { StreamLimit } from '../auth/stream-limit.interceptor';
import { DeviceIdParam } from '../common/device-id.pipe';
import { AlarmsPageQueryDto, FleetAlarmFilterDto, FleetAlarmsPageQueryDto } from './alarms-query.dto';
import { AlarmsPage, AlertsService } from './alerts.service';

const PAGE_DESCRIPTION =
  'One alarm per (device, rule) that has or had one: the active alarm, else the last one, cleared. Pages in (device id, rule id) order; follow `nextCursor` until it is absent.';

/** Alarms over HTTP (reads); the alarms service does the work. */
@ApiTags('alerts')
@Controller()
export class AlertsController {
  constructor(private readonly alarms: AlertsService) {}

  @Get('alerts')
  @Access('alerts:read')
  @ApiOperation({ summary: 'Alarms, filtered by state, severity, device or rule', description: PAGE_DESCRIPTION })
  @ApiResponse({ status: 200, description: 'a page of alarms' })
  @ApiResponse({ status: 400, description: 'a query parameter out of its bounds (named in the message)' })
  list(@Query() query: FleetAlarmsPageQueryDto): AlarmsPage {
    return this.alarms.list(query);
  }

  @Sse('alerts/stream')
  @Access('alerts:read')
  @StreamLimit()
  @ApiOperation({
    summary: 'Server-Sent Events: every alarm raised, acknowledged or cleared from now on that matches the filters',
    description: 'Events: `alarm` (data: the alarm as GET /alerts shows it, id: the alarm id). Missed changes are not replayed: after a reconnect, read GET /alerts.',
  })
  @ApiProduces('text/event-stream')
  @ApiResponse({ status: 200, description: 'the event stream' })
  @ApiResponse({ status: 400, description: 'a query parameter out of its bounds (named in the message)' })
  stream(@Query() query: FleetAlarmFilterDto): Observable<MessageEvent> {
    return this.alarms.stream(query);
  }

  @Get('devices/:deviceId/alerts')
  @Access('alerts:read')
  @ApiOperation({ summary: "A device's alarms, filtered by state, severity or rule", description: PAGE_DESCRIPTION })
  @ApiResponse({ status: 200, description: 'a page of alarms (empty for a device without any)' })
  @ApiResponse({ status: 400, description: 'a query parameter out of its bounds (named in the message)' })
  deviceList(@DeviceIdParam() deviceId: string, @Query() query: AlarmsPageQueryDto): AlarmsPage {
    return this.alarms.list({ ...query, deviceId });
  }
}
