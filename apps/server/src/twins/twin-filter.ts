import { connectivityAt, DeviceTwin } from '@fleetstream/domain';
import type { TwinFilterDto } from './twins-query.dto';

/** The filters of a device query as one predicate on a twin as of `now` (connectivity applies the silence window). */
export function twinFilter(query: TwinFilterDto, silenceMs: number): (twin: DeviceTwin, now: number) => boolean {
  const [attributeName, attributeValue] = query.attribute ? splitFirst(query.attribute) : [];
  const [metricName, min, max] = query.metric ? query.metric.split(':') : [];
  return (twin, now) =>
    (query.online === undefined || connectivityAt(twin, now, silenceMs).online === query.online) &&
    (!query.lastSeenBefore || (twin.lastSeen ?? 0) < query.lastSeenBefore.getTime()) &&
    (!query.lastSeenAfter || (twin.lastSeen ?? 0) >= query.lastSeenAfter.getTime()) &&
    (attributeName === undefined || twin.reported[attributeName]?.value === attributeValue) &&
    (metricName === undefined || inRange(twin.reported[metricName]?.value, min, max));
}

function splitFirst(text: string): [string, string] {
  const at = text.indexOf(':');
  return [text.slice(0, at), text.slice(at + 1)];
}

function inRange(value: number | string | undefined, min: string | undefined, max: string | undefined): boolean {
  if (typeof value !== 'number') return false;
  return (!min || value >= Number(min)) && (!max || value <= Number(max));
}
