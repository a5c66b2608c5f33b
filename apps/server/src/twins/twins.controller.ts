import { twinSettings } from '@fleetstream/config';
import { decide, DeviceTwin, JsonObject, rejectionReason } from '@fleetstream/domain';
import {
  BadRequestException, Body, Controller, Delete, Get, Headers, HttpCode, HttpException, HttpStatus, Inject, MessageEvent, NotFoundException, Patch, Query, Res, Sse,
} from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { randomUUID } from 'node:crypto';
import { concat, defer, filter, map, Observable, of } from 'rxjs';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { DeviceEventsPublisher } from './device-events.publisher';
import { twinFilter } from './twin-filter';
import { patchRejectionStatus, TwinPatchOutcomes } from './twin-patch-outcomes';
import { TwinChange, TwinReadModel } from './twin-read-model';
import { twinView, TwinView } from './twin.view';
import { DevicesQueryDto, TwinFilterDto } from './twins-query.dto';
import { DeviceIdParam } from '../common/device-id.pipe';

/** How long a write waits to read its own effect back from fleet.twins before answering 202. */
const READ_YOUR_WRITE_MS = 5000;

/**
 * At most this many twins are read for one page of GET /devices: a selective filter over a large
 * fleet answers with a short (even empty) page and a cursor instead of scanning for seconds.
 */
const MAX_SCANNED_PER_PAGE = 20_000;

const etag = (twin: DeviceTwin) => `"${twin.version}"`;

@ApiTags('twins')
@Controller('devices')
export class TwinsController {
  constructor(
    @Inject(fleetstreamConfig.KEY) private readonly config: AppConfig,
    private readonly twins: TwinReadModel,
    private readonly events: DeviceEventsPublisher,
    private readonly patchOutcomes: TwinPatchOutcomes,
  ) {}

  @Get(':deviceId/twin')
  @ApiOperation({ summary: "A device's twin: reported, desired, delta, version (ETag), connectivity" })
  twin(@DeviceIdParam() deviceId: string, @Headers('if-none-match') ifNoneMatch: string | undefined, @Res({ passthrough: true }) res: Response): TwinView | undefined {
    const twin = this.known(deviceId);
    res.setHeader('ETag', etag(twin));
    if (ifNoneMatch === etag(twin)) {
      res.status(HttpStatus.NOT_MODIFIED);
      return undefined;
    }
    return this.view(twin);
  }

  @Get()
  @ApiOperation({
    summary: 'Devices by id, filtered by connectivity, last seen, an attribute or a metric range',
    description: `Pages in device id order. A page reads at most ${MAX_SCANNED_PER_PAGE} twins, so with a selective filter it may hold fewer than \`limit\` devices; keep following \`nextCursor\` until it is absent.`,
  })
  list(@Query() query: DevicesQueryDto): { count: number; devices: TwinView[]; nextCursor?: string } {
    const limit = query.limit ?? 100;
    const now = Date.now();
    const matches = twinFilter(query, this.silenceMs);
    const after = query.cursor === undefined ? undefined : Buffer.from(query.cursor, 'base64url').toString();
    const page: DeviceTwin[] = [];
    let scanned = 0;
    let lastScanned: string | undefined;
    let more = false;
    // a range scan of the store in device id order, filtered as it goes; one entry past the page tells whether more follow
    for (const [deviceId, twin] of this.twins.scan(after)) {
      if (page.length === limit || scanned === MAX_SCANNED_PER_PAGE) {
        more = true;
        break;
      }
      scanned++;
      lastScanned = deviceId;
      if (matches(twin, now)) page.push(twin);
    }
    return {
      count: page.length,
      devices: page.map((twin) => twinView(twin, now, this.silenceMs)),
      nextCursor: more && lastScanned !== undefined ? Buffer.from(lastScanned).toString('base64url') : undefined,
    };
  }

  @Sse('twins/stream')
  @ApiOperation({
    summary: 'Server-Sent Events: every twin change from now on, of twins that match the filters after the change',
    description: 'Events: `twin` (data: the twin, id: its version) and `removed` (data: {deviceId}). Missed changes are not replayed: after a reconnect, read GET /devices.',
  })
  @ApiProduces('text/event-stream')
  fleetStream(@Query() query: TwinFilterDto): Observable<MessageEvent> {
    const matches = twinFilter(query, this.silenceMs);
    return this.twins.changes.pipe(
      filter(({ twin }) => twin === null || matches(twin, Date.now())),
      map((change) => this.changeEvent(change)),
    );
  }

  @Sse(':deviceId/twin/stream')
  @ApiOperation({
    summary: "Server-Sent Events: a device's twin now, then at every change",
    description: 'Events: `twin` (data: the twin, id: its version) and `removed`. A reconnecting EventSource sends Last-Event-ID and gets the current twin only when it is newer.',
  })
  @ApiProduces('text/event-stream')
  @ApiHeader({ name: 'Last-Event-ID', required: false, description: 'the version the client already has' })
  deviceStream(@DeviceIdParam() deviceId: string, @Headers('last-event-id') lastEventId: string | undefined): Observable<MessageEvent> {
    this.known(deviceId);
    let sentVersion = lastEventId === undefined ? 0 : parseVersion(lastEventId, 'Last-Event-ID');
    // defer: the current twin is read and the changes subscribed in one tick, so no change falls in between
    return defer(() => {
      const current = this.twins.get(deviceId);
      return concat(current ? of({ deviceId, twin: current }) : of(), this.twins.changes.pipe(filter((change) => change.deviceId === deviceId)));
    }).pipe(
      filter(({ twin }) => twin === null || twin.version > sentVersion),
      map((change) => {
        // a removed device that comes back starts again at version 1
        sentVersion = change.twin?.version ?? 0;
        return this.changeEvent(change);
      }),
    );
  }

  @Patch(':deviceId/twin/desired')
  @ApiOperation({
    summary: 'Change desired state with a JSON merge patch (RFC 7386); If-Match: the version you read',
    description: 'Answers once the twin processor decided: 200 with the twin that contains the patch (ETag = its version), or its refusal; 202 if that takes over 5 s.',
  })
  @ApiBody({ schema: { type: 'object', example: { setpoint: 21.5, mode: 'eco' } } })
  @ApiResponse({ status: 200, description: 'the twin with the patch applied (or already holding it)' })
  @ApiResponse({ status: 202, description: 'sent, but not decided within 5 s' })
  @ApiResponse({ status: 400, description: 'not a JSON object, or larger than TWIN_MAX_PATCH_BYTES' })
  @ApiResponse({ status: 412, description: 'If-Match is not the twin\'s version (checked here, and again by the twin processor)' })
  @ApiResponse({ status: 413, description: 'the desired state after the patch would exceed TWIN_MAX_DESIRED_BYTES of JSON' })
  async patchDesired(
    @DeviceIdParam() deviceId: string,
    @Body() patch: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TwinView | { status: string; deviceId: string }> {
    const twin = this.known(deviceId);
    const expectedVersion = ifMatch === undefined ? undefined : parseVersion(ifMatch, 'If-Match');
    const now = Date.now();
    const requestId = randomUUID();
    const decision = decide(
      { type: 'PatchDesired', data: { deviceId, patch: patch as JsonObject, expectedVersion }, metadata: { now, requestId } },
      twin,
      twinSettings(this.config),
    );
    // a pre-check on this instance's read model; the twin processor decides again on the newest twin
    if ('rejection' in decision) throw patchRefused(rejectionReason(decision.rejection));
    if (decision.events.length === 0) {
      res.setHeader('ETag', etag(twin));
      return this.view(twin);
    }
    const deadline = now + READ_YOUR_WRITE_MS;
    // listening before publishing: the outcome cannot arrive unheard
    const outcome = this.patchOutcomes.waitFor(requestId, READ_YOUR_WRITE_MS);
    await this.events.publish({ deviceId, requestId, at: now, kind: 'DESIRED_PATCH', patchJson: JSON.stringify(patch), expectedVersion: expectedVersion ?? null, online: null });
    const decided = await outcome;
    if (decided?.outcome === 'REJECTED') throw patchRefused({ reason: decided.reason ?? 'invalid-patch', error: decided.error ?? 'the twin processor refused the patch' });
    // the outcome is committed with its twin: this instance's read model shows it once it read that far
    const after = decided && (await this.twins.waitFor(deviceId, (next) => next !== null && next.version >= decided.version, Math.max(0, deadline - Date.now())));
    if (!after) {
      res.status(HttpStatus.ACCEPTED);
      return { status: 'accepted; the twin shows it shortly', deviceId };
    }
    res.setHeader('ETag', etag(after));
    return this.view(after);
  }

  @Delete(':deviceId')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Remove a device: its twin becomes a tombstone on fleet.twins' })
  async remove(@DeviceIdParam() deviceId: string, @Res({ passthrough: true }) res: Response): Promise<void> {
    this.known(deviceId);
    await this.events.publish({ deviceId, requestId: randomUUID(), at: Date.now(), kind: 'REMOVE', patchJson: null, expectedVersion: null, online: null });
    const gone = await this.twins.waitFor(deviceId, (next) => next === null, READ_YOUR_WRITE_MS);
    if (gone === undefined) res.status(HttpStatus.ACCEPTED);
  }

  private get silenceMs(): number {
    return this.config.TWIN_SILENCE_S * 1000;
  }

  private view(twin: DeviceTwin): TwinView {
    return twinView(twin, Date.now(), this.silenceMs);
  }

  private changeEvent({ deviceId, twin }: TwinChange): MessageEvent {
    return twin === null ? { type: 'removed', data: { deviceId } } : { type: 'twin', id: String(twin.version), data: this.view(twin) };
  }

  private known(deviceId: string): DeviceTwin {
    const twin = this.twins.get(deviceId);
    if (!twin) throw new NotFoundException(`no device "${deviceId}"; a device appears with its first telemetry`);
    return twin;
  }
}

/** A refused patch as its 4xx, with the refusal's reason (say `patch-version-conflict`) for clients that branch on it. */
function patchRefused({ reason, error }: { reason: string; error: string }): HttpException {
  const status = patchRejectionStatus(reason);
  return new HttpException({ statusCode: status, message: error, reason }, status);
}

function parseVersion(header: string, name: string): number {
  const match = /^(?:W\/)?"?(\d+)"?$/.exec(header.trim());
  if (!match) throw new BadRequestException(`${name} must be the twin's version (its ETag), e.g. "7"; got ${header}`);
  return Number(match[1]);
}
