import { Right, rolesFor } from '@fleetstream/domain';
import { applyDecorators, SetMetadata, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiExtension, ApiForbiddenResponse, ApiSecurity, ApiTooManyRequestsResponse, ApiUnauthorizedResponse, ApiUnsupportedMediaTypeResponse } from '@nestjs/swagger';
import { JsonContentTypeGuard } from './json-content-type.guard';
import { WriteThrottlerGuard } from './write-throttler.guard';

export const ACCESS_RIGHT = 'fleetstream:access-right';
export const PUBLIC_ROUTE = 'fleetstream:public-route';
/** OpenAPI security scheme names (declared in main.ts). */
export const BEARER_SCHEME = 'bearer';
export const API_KEY_SCHEME = 'api-key';

/** Whether a right changes something (and so is rate-limited and audited). */
export function isWriteRight(right: Right): boolean {
  return !right.endsWith(':read');
}

export function rolesSentence(right: Right): string {
  return rolesFor(right).join(' or ');
}

/**
 * The right a route needs, and what the OpenAPI document says about it: both security schemes, the
 * roles (also as `x-fleetstream-roles`), 401, 403, for writes 429 and, for `…:write` rights (the
 * POST and PATCH routes, which take a JSON body; `devices:delete` has none), 415.
 *
 * Write routes also get the content-type and rate-limit guards, after the global credential and
 * rights guards; reads never run them (as global guards they cost reads about 5% of their throughput).
 */
export function Access(right: Right) {
  const roles = rolesSentence(right);
  return applyDecorators(
    SetMetadata(ACCESS_RIGHT, right),
    ...(isWriteRight(right) ? [UseGuards(JsonContentTypeGuard, WriteThrottlerGuard)] : []),
    ApiBearerAuth(BEARER_SCHEME),
    ApiSecurity(API_KEY_SCHEME),
    ApiExtension('x-fleetstream-roles', [...rolesFor(right)]),
    ApiUnauthorizedResponse({ description: `no credential, an unknown or revoked API key, or an invalid or expired token (this route needs the role ${roles})` }),
    ApiForbiddenResponse({ description: `the credential is valid but holds none of the roles ${roles}` }),
    ...(isWriteRight(right) ? [ApiTooManyRequestsResponse({ description: 'over WRITE_RATE_LIMIT writes a minute for this principal; Retry-After says when to try again' })] : []),
    ...(right.endsWith(':write') ? [ApiUnsupportedMediaTypeResponse({ description: 'the body is not sent as JSON (Content-Type: application/json; desired-state patches: application/merge-patch+json)' })] : []),
  );
}

/** A route anyone may call without a credential: only the probes. */
export const Public = () => SetMetadata(PUBLIC_ROUTE, true);
