import { connectivityAt, deviceFilterPredicate, DeviceTwin } from '@fleetstream/domain';
import type { TwinFilterDto } from './twins-query.dto';

/** The filters of a device query as one predicate on a twin as of `now` (connectivity applies the silence window). */
export function twinFilter(query: TwinFilterDto, silenceMs: number): (twin: DeviceTwin, now: number) => boolean {
  const reportedMatches = deviceFilterPredicate(query);
  return (twin, now) =>
    (query.online === undefined || connectivityAt(twin, now, silenceMs).online === query.online) &&
    (!query.lastSeenBefore || (twin.lastSeen ?? 0) < query.lastSeenBefore.getTime()) &&
    (!query.lastSeenAfter || (twin.lastSeen ?? 0) >= query.lastSeenAfter.getTime()) &&
    reportedMatches(twin.reported);
}
