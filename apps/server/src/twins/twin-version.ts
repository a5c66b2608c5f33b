import { BadRequestException } from '@nestjs/common';

/**
 * A twin's version as an entity tag, quoted or not, optionally weak (`W/`): what ETag carried out and
 * If-Match / Last-Event-ID bring back. The same text is the OpenAPI pattern of those headers.
 */
export const VERSION_TAG_PATTERN = '^(?:W/)?(?:"(\\d{1,15})"|(\\d{1,15}))$';
const VERSION_TAG = new RegExp(VERSION_TAG_PATTERN);

/** The ETag of a twin at `version`: a strong entity tag, as If-Match compares them. */
export function versionTag(version: number): string {
  return `"${version}"`;
}

/** The version a header names (`"7"`, `W/"7"` or `7`); 400 naming the header when it is anything else. */
export function parseVersion(header: string, name: string): number {
  const match = VERSION_TAG.exec(header.trim());
  if (!match) throw new BadRequestException(`${name} must be the twin's version (its ETag), e.g. "7"; got ${header}`);
  return Number(match[1] ?? match[2]);
}

/**
 * Whether If-None-Match names the twin at `version`, so a GET may answer 304: `*`, or a list of
 * entity tags of which one is the version (RFC 9110 §13.1.2 compares weakly, so `W/"7"` counts).
 * A malformed header matches nothing: the client gets the full twin, never an error.
 */
export function noneMatchHits(ifNoneMatch: string | undefined, version: number): boolean {
  if (ifNoneMatch === undefined) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((tag) => tag.trim().replace(/^W\//, '') === versionTag(version));
}
