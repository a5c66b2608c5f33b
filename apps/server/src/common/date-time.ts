/**
 * An RFC 3339 date-time (`2026-11-23T10:00:00Z`, `…T10:00:00.5+05:30`): what OpenAPI's `date-time`
 * format means. JavaScript's Date parser takes far more (`0.5`, `2026-02-30`, hour 24) and rolls
 * impossible dates over, so a query parameter is read with this instead.
 */
const RFC_3339 = /^([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt ]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))$/;

/** The instant an RFC 3339 date-time names, or undefined when `text` is not one (a leap second reads as the next second). */
export function parseDateTime(text: string): Date | undefined {
  const match = RFC_3339.exec(text);
  if (!match) return undefined;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number);
  const [offsetHours, offsetMinutes] = match[8] ? [0, 0] : [Number(match[10]), Number(match[11])];
  const daysInMonth = month >= 1 && month <= 12 ? new Date(Date.UTC(2000, month, 0)).getUTCDate() + (month === 2 && !isLeapYear(year) ? -1 : 0) : 0;
  if (day < 1 || day > daysInMonth || hour > 23 || minute > 59 || second > 60 || offsetHours > 23 || offsetMinutes > 59) return undefined;
  const date = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not read years 0 to 99 as 1900 to 1999
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, Math.min(second, 59), Math.floor(Number(match[7] ?? 0) * 1000));
  const offsetMs = (match[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  return new Date(date.getTime() + (second === 60 ? 1000 : 0) - offsetMs);
}

function isLeapYear(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}
