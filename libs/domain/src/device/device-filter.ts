/**
 * A filter on devices by what their twins report, as `GET /devices` takes it and as an alert rule's
 * scope holds it: `attribute` is `name:value` (the reported attribute equals the value), `metric` is
 * `name:min:max` (the reported metric lies in the range; either bound may be empty).
 */
export interface DeviceFilter {
  attribute?: string;
  metric?: string;
}

/** name:value; the value may hold anything, colons and line breaks too (`[\s\S]`, as `.` differs between engines). */
export const ATTRIBUTE_FILTER_PATTERN = '^[^:]+:[\\s\\S]*$';
/** name:min:max, each bound a decimal number or empty. */
export const METRIC_FILTER_PATTERN = '^[^:]+:(-?[0-9]+(\\.[0-9]+)?)?:(-?[0-9]+(\\.[0-9]+)?)?$';

/** The filter as a predicate on reported values (a twin's, by field name); no filter matches every device. */
export function deviceFilterPredicate(filter: DeviceFilter): (reported: Readonly<Record<string, { value: number | string } | undefined>>) => boolean {
  const [attributeName, attributeValue] = filter.attribute ? splitFirst(filter.attribute) : [];
  const [metricName, min, max] = filter.metric ? filter.metric.split(':') : [];
  return (reported) =>
    (attributeName === undefined || reported[attributeName]?.value === attributeValue) &&
    (metricName === undefined || inRange(reported[metricName]?.value, min, max));
}

function splitFirst(text: string): [string, string] {
  const at = text.indexOf(':');
  return [text.slice(0, at), text.slice(at + 1)];
}

function inRange(value: number | string | undefined, min: string | undefined, max: string | undefined): boolean {
  if (typeof value !== 'number') return false;
  return (!min || value >= Number(min)) && (!max || value <= Number(max));
}
