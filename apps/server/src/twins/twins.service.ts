import { twinSettings } from '@fleetstream/config';
import { decide, DeviceTwin, JsonObject, rejectionReason } from '@fleetstream/domain';
import { HttpException, Inject, Injectable, MessageEvent, NotFoundException } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { concat, defer, filter, map, Observable, of } from 'rxjs';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { decodeDeviceCursor, encodeDeviceCursor } from './device-cursor';
import { DeviceEventsPublisher } from './device-events.publisher';
import { twinFilter } from './twin-filter';
import { patchRejectionStatus, TwinPatchOutcomes } from './twin-patch-outcomes';
import { TwinChange, TwinReadModel } from './twin-read-model';
import { parseVersion } from './twin-version';
import { twinView, TwinView } from './twin.view';
import type { DevicesQueryDto, TwinFilterDto } from './twins-query.dto';

/** How long a write waits to read its own effect back from fleet.twins before answering 202. */
export const READ_YOUR_WRITE_MS = 5000;

/**
 * At most this many twins are read for one page of GET /devices: a selective filter over a large
 * fleet answers with a short (even empty) page and a cursor instead of scanning for seconds.
 */
export const MAX_SCANNED_PER_PAGE = 20_000;

/** A twin as answered: its view, and the version its ETag carries. */
export interface VersionedTwin {
  version: number;
  view: TwinView;
}

export interface DevicesPage {
  count: number;
  devices: TwinView[];
  nextCursor?: string;
}

/**
 * Twins for the REST edge: pages and streams from this instance's read model, and desired patches
 * and removals sent to the twin processor, each answered once its effect can be read back here.
 */
@Injectable()
export class TwinsService {
  constructor(
    @Inject(fleetstreamConfig.KEY) private readonly config: AppConfig,
    private readonly twins: TwinReadModel,
    private readonly events: DeviceEventsPublisher,
    private readonly patchOutcomes: TwinPatchOutcomes,
  ) {}

  /** The device's twin; 404 when the device is not known. */
  twin(deviceId: string): VersionedTwin {
    return this.versioned(this.known(deviceId));
  }

  /** One page of devices in id order, after the device the cursor names. */
  list(query: DevicesQueryDto): DevicesPage {
    const limit = query.limit ?? 100;
    const now = Date.now();
    const matches = twinFilter(query, this.silenceMs);
    const after = query.cursor === undefined ? undefined : decodeDeviceCursor(query.cursor);
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
      nextCursor: more && lastScanned !== undefined ? encodeDeviceCursor(lastScanned) : undefined,
    };
  }

  /** Every twin change from now on, of twins that match the filters after the change. */
  fleetStream(query: TwinFilterDto): Observable<MessageEvent> {
    const matches = twinFilter(query, this.silenceMs);
    return this.twins.changes.pipe(
      filter(({ twin }) => twin === null || matches(twin, Date.now())),
      map((change) => this.changeEvent(change)),
    );
  }

  /** The device's twin now (unless the client has that version: Last-Event-ID), then at every change. */
  deviceStream(deviceId: string, lastEventId?: string): Observable<MessageEvent> {
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

  /**
   * Applies a JSON merge patch to desired state once the twin processor decided: the twin that holds
   * it, or undefined when that was not decided and read back within READ_YOUR_WRITE_MS. A refusal
   * (here or by the processor) throws its 4xx. `ifMatch` is the If-Match header, if any; `actor`,
   * who asks, is recorded on the device event.
   */
  async patchDesired(deviceId: string, patch: unknown, ifMatch?: string, actor?: string): Promise<VersionedTwin | undefined> {
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
    if (decision.events.length === 0) return this.versioned(twin);
    const deadline = now + READ_YOUR_WRITE_MS;
    // listening before publishing: the outcome cannot arrive unheard
    const outcome = this.patchOutcomes.waitFor(requestId, READ_YOUR_WRITE_MS);
    await this.events.publish({ deviceId, requestId, at: now, kind: 'DESIRED_PATCH', patchJson: JSON.stringify(patch), expectedVersion: expectedVersion ?? null, online: null, actor });
    const decided = await outcome;
    if (decided?.outcome === 'REJECTED') throw patchRefused({ reason: decided.reason ?? 'invalid-patch', error: decided.error ?? 'the twin processor refused the patch' });
    // the outcome is committed with its twin: this instance's read model shows it once it read that far
    const after = decided && (await this.twins.waitFor(deviceId, (next) => next !== null && next.version >= decided.version, Math.max(0, deadline - Date.now())));
    return after ? this.versioned(after) : undefined;
  }

  /** Removes the device (its twin becomes a tombstone); false when the removal was not read back within READ_YOUR_WRITE_MS. */
  async remove(deviceId: string, actor?: string): Promise<boolean> {
    this.known(deviceId);
    await this.events.publish({ deviceId, requestId: randomUUID(), at: Date.now(), kind: 'REMOVE', patchJson: null, expectedVersion: null, online: null, actor });
    const gone = await this.twins.waitFor(deviceId, (next) => next === null, READ_YOUR_WRITE_MS);
    return gone !== undefined;
  }

  private get silenceMs(): number {
    return this.config.TWIN_SILENCE_S * 1000;
  }

  private versioned(twin: DeviceTwin): VersionedTwin {
    return { version: twin.version, view: twinView(twin, Date.now(), this.silenceMs) };
  }

  private changeEvent({ deviceId, twin }: TwinChange): MessageEvent {
    return twin === null ? { type: 'removed', data: { deviceId } } : { type: 'twin', id: String(twin.version), data: twinView(twin, Date.now(), this.silenceMs) };
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
