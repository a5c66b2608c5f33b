import { Body, Controller, Delete, Get, Headers, HttpCode, HttpStatus, MessageEvent, Patch, Query, Res, Sse } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Observable } from 'rxjs';
import { Access } from '../auth/access.decorator';
import { Actor } from '../auth/principal';
import { StreamLimit } from '../auth/stream-limit.interceptor';
import { DeviceIdParam } from '../common/device-id.pipe';
import { MergePatchPipe } from './merge-patch.pipe';
import { noneMatchHits, VERSION_TAG_PATTERN, versionTag } from './twin-version';
import { TwinView } from './twin.view';
import { DevicesQueryDto, TwinFilterDto } from './twins-query.dto';
import { DevicesPage, MAX_SCANNED_PER_PAGE, READ_YOUR_WRITE_MS, TwinsService, VersionedTwin } from './twins.service';

const UNKNOWN_DEVICE = { status: 404, description: 'no such device: a device appears with its first telemetry' } as const;
const versionHeader = (name: string, description: string) => ApiHeader({ name, required: false, description, schema: { type: 'string', pattern: VERSION_TAG_PATTERN } });

/** Twins over HTTP: parameters, headers and status codes; the twins service does the work. */
@ApiTags('twins')
@Controller('devices')
export class TwinsController {
  constructor(private readonly twins: TwinsService) {}

  @Get(':deviceId/twin')
  @Access('twins:read')
  @ApiOperation({ summary: "A device's twin: reported, desired, delta, version (ETag), connectivity" })
  @ApiHeader({ name: 'If-None-Match', required: false, description: 'the ETag you have: 304 while it is current' })
  @ApiResponse({ status: 200, description: 'the twin; ETag: its version' })
  @ApiResponse({ status: 304, description: 'If-None-Match names the current version' })
  @ApiResponse(UNKNOWN_DEVICE)
  twin(@DeviceIdParam() deviceId: string, @Headers('if-none-match') ifNoneMatch: string | undefined, @Res({ passthrough: true }) res: Response): TwinView | undefined {
    const { version, view } = this.twins.twin(deviceId);
    res.setHeader('ETag', versionTag(version));
    if (!noneMatchHits(ifNoneMatch, version)) return view;
    res.status(HttpStatus.NOT_MODIFIED);
    return undefined;
  }

  @Get()
  @Access('twins:read')
  @ApiOperation({
    summary: 'Devices by id, filtered by connectivity, last seen, an attribute or a metric range',
    description: `Pages in device id order. A page reads at most ${MAX_SCANNED_PER_PAGE} twins, so with a selective filter it may hold fewer than \`limit\` devices; keep following \`nextCursor\` until it is absent.`,
  })
  @ApiResponse({ status: 200, description: 'a page of devices' })
  @ApiResponse({ status: 400, description: 'a query parameter out of its bounds (named in the message)' })
  list(@Query() query: DevicesQueryDto): DevicesPage {
    return this.twins.list(query);
  }

  @Sse('twins/stream')
  @Access('twins:read')
  @StreamLimit()
  @ApiOperation({
    summary: 'Server-Sent Events: every twin change from now on, of twins that match the filters after the change',
    description: 'Events: `twin` (data: the twin, id: its version) and `removed` (data: {deviceId}). Missed changes are not replayed: after a reconnect, read GET /devices.',
  })
  @ApiProduces('text/event-stream')
  @ApiResponse({ status: 200, description: 'the event stream' })
  @ApiResponse({ status: 400, description: 'a query parameter out of its bounds (named in the message)' })
  fleetStream(@Query() query: TwinFilterDto): Observable<MessageEvent> {
    return this.twins.fleetStream(query);
  }

  @Sse(':deviceId/twin/stream')
  @Access('twins:read')
  @StreamLimit()
  @ApiOperation({
    summary: "Server-Sent Events: a device's twin now, then at every change",
    description: 'Events: `twin` (data: the twin, id: its version) and `removed`. A reconnecting EventSource sends Last-Event-ID and gets the current twin only when it is newer.',
  })
  @ApiProduces('text/event-stream')
  @versionHeader('Last-Event-ID', 'the version the client already has (400 when it is not a version)')
  @ApiResponse({ status: 200, description: 'the event stream' })
  @ApiResponse(UNKNOWN_DEVICE)
  deviceStream(@DeviceIdParam() deviceId: string, @Headers('last-event-id') lastEventId: string | undefined): Observable<MessageEvent> {
    return this.twins.deviceStream(deviceId, lastEventId);
  }

  @Patch(':deviceId/twin/desired')
  @Access('desired:write')
  @ApiOperation({
    summary: 'Change desired state with a JSON merge patch (RFC 7386); If-Match: the version you read',
    description: `Answers once the twin processor decided: 200 with the twin that contains the patch (ETag = its version), or its refusal; 202 if that takes over ${READ_YOUR_WRITE_MS / 1000} s.`,
  })
  @ApiBody({ schema: { type: 'object', example: { setpoint: 21.5, mode: 'eco' } } })
  @versionHeader('If-Match', "the twin's version you read (its ETag); 412 when the twin moved on, 400 when it is not a version")
  @ApiResponse({ status: 200, description: 'the twin with the patch applied (or already holding it)' })
  @ApiResponse({ status: 202, description: `sent, but not decided within ${READ_YOUR_WRITE_MS / 1000} s` })
  @ApiResponse({ status: 400, description: 'not a JSON object, larger than TWIN_MAX_PATCH_BYTES, or a malformed If-Match' })
  @ApiResponse(UNKNOWN_DEVICE)
  @ApiResponse({ status: 412, description: "If-Match is not the twin's version (checked here, and again by the twin processor)" })
  @ApiResponse({ status: 413, description: 'the body exceeds 256 kB, or the desired state after the patch would exceed TWIN_MAX_DESIRED_BYTES of JSON' })
  async patchDesired(
    @DeviceIdParam() deviceId: string,
    @Body(MergePatchPipe) patch: Record<string, unknown>,
    @Headers('if-match') ifMatch: string | undefined,
    @Actor() actor: string,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TwinView | { status: string; deviceId: string }> {
    const patched = await this.twins.patchDesired(deviceId, patch, ifMatch, actor);
    if (patched) return this.withETag(res, patched);
    res.status(HttpStatus.ACCEPTED);
    return { status: 'accepted; the twin shows it shortly', deviceId };
  }

  @Delete(':deviceId')
  @Access('devices:delete')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Remove a device: its twin becomes a tombstone on fleet.twins' })
  @ApiResponse({ status: 204, description: 'removed' })
  @ApiResponse({ status: 202, description: `sent, but not read back within ${READ_YOUR_WRITE_MS / 1000} s` })
  @ApiResponse(UNKNOWN_DEVICE)
  async remove(@DeviceIdParam() deviceId: string, @Actor() actor: string, @Res({ passthrough: true }) res: Response): Promise<void> {
    if (!(await this.twins.remove(deviceId, actor))) res.status(HttpStatus.ACCEPTED);
  }

  private withETag(res: Response, { version, view }: VersionedTwin): TwinView {
    res.setHeader('ETag', versionTag(version));
    return view;
  }
}
