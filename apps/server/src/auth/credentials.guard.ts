import { Right, rolesFor } from '@fleetstream/domain';
import { ExecutionContext, HttpStatus, Injectable, ServiceUnavailableException, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { Request, Response } from 'express';
import { ACCESS_RIGHT, PUBLIC_ROUTE } from './access.decorator';
import { API_KEY_STRATEGY } from './api-key.strategy';
import { presentedCredential } from './credential';
import { JWT_STRATEGY } from './jwt.strategy';
import type { Principal } from './principal';

/**
 * Every route but the public probes needs a credential: an API key or an OIDC token (passport tries
 * both strategies). Anything else is 401, with JSON that says what was wrong and which roles the route needs.
 */
@Injectable()
export class CredentialsGuard extends AuthGuard([API_KEY_STRATEGY, JWT_STRATEGY]) {
  constructor(private readonly reflector: Reflector) {
    super();
  }

  override canActivate(context: ExecutionContext) {
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, [context.getHandler(), context.getClass()])) return true;
    return super.canActivate(context);
  }

  override handleRequest<TUser = Principal>(error: unknown, user: TUser | false, info: unknown, context: ExecutionContext): TUser {
    if (error) throw error;
    if (user) return user;
    const request = context.switchToHttp().getRequest<Request>();
    const unreachable = keySetUnreachable(info);
    if (unreachable) {
      // the provider's fault, not the token's: a 401 would make clients throw a good token away
      context.switchToHttp().getResponse<Response>().setHeader('Retry-After', '5');
      throw new ServiceUnavailableException({
        statusCode: HttpStatus.SERVICE_UNAVAILABLE,
        error: 'Service Unavailable',
        message: `the identity provider's signing keys (OIDC_JWKS_URL) could not be fetched to check this token: ${unreachable}; try again`,
      });
    }
    const right = this.reflector.getAllAndOverride<Right | undefined>(ACCESS_RIGHT, [context.getHandler(), context.getClass()]);
    throw new UnauthorizedException({
      statusCode: HttpStatus.UNAUTHORIZED,
      error: 'Unauthorized',
      message: failure(request, info),
      requiredRoles: right === undefined ? [] : rolesFor(right),
    });
  }
}

/** What to tell the caller: the failure of the strategy that the credential's shape picked. */
function failure(request: Request, info: unknown): string {
  const credential = presentedCredential(request.headers);
  switch (credential.kind) {
    case 'none':
      return 'no credential: send "Authorization: Bearer <API key or token>" or "X-API-Key: <API key>"';
    case 'malformed':
      return credential.problem;
    case 'api-key':
      return messages(info).find((message) => message !== 'not an API key') ?? 'unknown API key';
    case 'jwt': {
      // passport-jwt fails with jsonwebtoken's error (jwt expired, jwt audience invalid, invalid signature)
      const reason = messages(info).find((message) => message !== 'not an API key');
      return `invalid token: ${reason ?? 'not accepted'}`;
    }
  }
}

/**
 * jwks-rsa's failures that are no fault of the token: the JWKS endpoint answered an error (JwksError),
 * could not be reached (a Node system error with a code), or fetches are rate-limited.
 */
function keySetUnreachable(info: unknown): string | undefined {
  for (const item of Array.isArray(info) ? info : [info]) {
    if (!(item instanceof Error)) continue;
    if (item.name === 'JwksError' || item.name === 'JwksRateLimitError' || typeof (item as NodeJS.ErrnoException).code === 'string') return item.message || item.name;
  }
  return undefined;
}

function messages(info: unknown): string[] {
  const all = Array.isArray(info) ? info : [info];
  return all.map((item) => (item instanceof Error ? item.message : typeof item === 'string' ? item : undefined)).filter((item): item is string => item !== undefined);
}
