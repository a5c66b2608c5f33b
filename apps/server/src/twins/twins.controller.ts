import { connectivityAt, decide, DeviceTwin, JsonObject } from '@fleetstream/domain';
import {
  BadRequestException, Body, Controller, Delete, Get, Headers, HttpCode, HttpStatus, Inject, NotFoundException, Param, Patch,
  PreconditionFailedException, Query, Res,
} from '@nestjs/common';
import { ApiBody, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { randomUUID } from 'node:crypto';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { DeviceEventsPublisher } from './device-events.publisher';
import { TwinReadModel } from './twin-read-model';
import { twinView, TwinView } from './twin.view';
import { DevicesQueryDto } from './twins-query.dto';

/** How long a write waits to read its own effect back from fleet.twins before answering 202. */
const READ_YOUR_WRITE_MS = 5000;

const etag = (twin: DeviceTwin) => `"${twin.version}"`;

@ApiTags('twins')
@Controller('devices')
export class TwinsController {
  constructor(
    @Inject(fleetstreamConfig.KEY) private readonly config: AppConfig,
    private readonly twins: TwinReadModel,
    private readonly events: DeviceEventsPublisher,
  ) {}

  @Get(':deviceId/twin')
  @ApiOperation({ summary: "A device's twin: reported, desired, delta, version (ETag), connectivity" })
  twin(@Param('deviceId') deviceId: string, @Headers('if-none-match') ifNoneMatch: string | undefined, @Res({ passthrough: true }) res: Response): TwinView | undefined {
    const twin = this.known(deviceId);
    res.setHeader('ETag', etag(twin));
    if (ifNoneMatch === etag(twin)) {
      res.status(HttpStatus.NOT_MODIFIED);
      return undefined;
    }
    return this.view(twin);
  }

  @Get()
  @ApiOperation({ summary: 'Devices by id, filtered by connectivity, last seen, an attribute or a metric range' })
  list(@Query() query: DevicesQueryDto): { count: number; devices: TwinView[]; nextCursor?: string } {
    const limit = query.limit ?? 100;
    const now = Date.now();
    const after = query.cursor ? Buffer.from(query.cursor, 'base64url').toString() : '';
    const [attributeName, attributeValue] = query.attribute ? splitFirst(query.attribute) : [];
    const [metricName, min, max] = query.metric ? query.metric.split(':') : [];
    const matches = (twin: DeviceTwin) =>
      twin.deviceId > after &&
      (query.online === undefined || connectivityAt(twin, now, this.silenceMs).online === query.online) &&
      (!query.lastSeenBefore || (twin.lastSeen ?? 0) < query.lastSeenBefore.getTime()) &&
      (!query.lastSeenAfter || (twin.lastSeen ?? 0) >= query.lastSeenAfter.getTime()) &&
      (attributeName === undefined || twin.reported[attributeName]?.value === attributeValue) &&
      (metricName === undefined || inRange(twin.reported[metricName]?.value, min, max));
    const page = [...this.twins.all()].map(([, twin]) => twin).filter(matches).sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1)).slice(0, limit);
    const last = page.at(-1);
    return {
      count: page.length,
      devices: page.map((twin) => twinView(twin, now, this.silenceMs)),
      nextCursor: page.length === limit && last ? Buffer.from(last.deviceId).toString('base64url') : undefined,
    };
  }

  @Patch(':deviceId/twin/desired')
  @ApiOperation({ summary: 'Change desired state with a JSON merge patch (RFC 7386); If-Match: the version you read' })
  @ApiBody({ schema: { type: 'object', example: { setpoint: 21.5, mode: 'eco' } } })
  async patchDesired(
    @Param('deviceId') deviceId: string,
    @Body() patch: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<TwinView | { status: string; deviceId: string }> {
    const twin = this.known(deviceId);
    const expectedVersion = ifMatch === undefined ? undefined : parseVersion(ifMatch);
    const now = Date.now();
    const requestId = randomUUID();
    const decision = decide(
      { type: 'PatchDesired', data: { deviceId, patch: patch as JsonObject, expectedVersion }, metadata: { now, requestId } },
      twin,
      { silenceMs: this.silenceMs, maxPatchBytes: this.config.TWIN_MAX_PATCH_BYTES },
    );
    if ('rejection' in decision) {
      const rejection = decision.rejection;
      if (rejection.type === 'VersionConflict') {
        throw new PreconditionFailedException(`the twin is at version ${rejection.actualVersion}, not ${rejection.expectedVersion}; read it again and retry`);
      }
      throw new BadRequestException(rejection.type === 'InvalidPatch' ? rejection.reason : `cannot patch: ${rejection.type}`);
    }
    if (decision.events.length === 0) {
      res.setHeader('ETag', etag(twin));
      return this.view(twin);
    }
    await this.events.publish({ deviceId, requestId, at: now, kind: 'DESIRED_PATCH', patchJson: JSON.stringify(patch), expectedVersion: expectedVersion ?? null, online: null });
    const after = await this.twins.waitFor(deviceId, (next) => next !== null && next.version > twin.version, READ_YOUR_WRITE_MS);
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
  async remove(@Param('deviceId') deviceId: string, @Res({ passthrough: true }) res: Response): Promise<void> {
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

  private known(deviceId: string): DeviceTwin {
    const twin = this.twins.get(deviceId);
    if (!twin) throw new NotFoundException(`no device "${deviceId}"; a device appears with its first telemetry`);
    return twin;
  }
}

function splitFirst(text: string): [string, string] {
  const at = text.indexOf(':');
  return [text.slice(0, at), text.slice(at + 1)];
}

function inRange(value: number | string | undefined, min: string | undefined, max: string | undefined): boolean {
  if (typeof value !== 'number') return false;
  return (!min || value >= Number(min)) && (!max || value <= Number(max));
}

function parseVersion(ifMatch: string): number {
  const match = /^(?:W\/)?"?(\d+)"?$/.exec(ifMatch.trim());
  if (!match) throw new BadRequestException(`If-Match must be the twin's ETag, e.g. "7"; got ${ifMatch}`);
  return Number(match[1]);
}
