import { rolesFromClaim } from '@fleetstream/domain';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { passportJwtSecret } from 'jwks-rsa';
import { Strategy as PassportJwt } from 'passport-jwt';
import { Strategy as PassportCustom } from 'passport-custom';
import { presentedCredential } from './credential';
import { claimAt, OidcSettings } from './oidc-settings';
import type { Principal } from './principal';

export const JWT_STRATEGY = 'jwt';

/** Asymmetric algorithms only: an HMAC token would be checked with a public key as its secret. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] as const;

/**
 * OIDC bearer tokens: passport-jwt checks the signature with the provider's JWKS (jwks-rsa caches the
 * keys and refetches for an unknown `kid`), the expiry, the issuer and the audience. The roles come
 * from OIDC_ROLES_CLAIM; the actor is `oidc:<sub>`.
 */
export class OidcJwtStrategy extends PassportStrategy(PassportJwt, JWT_STRATEGY) {
  constructor(private readonly settings: OidcSettings) {
    super({
      jwtFromRequest: (request: Request) => {
        const credential = presentedCredential(request.headers);
        return credential.kind === 'jwt' ? credential.value : null;
      },
      secretOrKeyProvider: passportJwtSecret({ jwksUri: settings.jwksUrl, cache: true, rateLimit: true, jwksRequestsPerMinute: 10 }),
      issuer: settings.issuer,
      audience: settings.audience,
      algorithms: [...ALGORITHMS],
      ignoreExpiration: false,
    });
  }

  validate(payload: Record<string, unknown>): Principal | [false, string] {
    if (typeof payload.sub !== 'string' || payload.sub === '') return [false, 'the token has no subject (sub)'];
    return { actor: `oidc:${payload.sub}`, kind: 'oidc', roles: rolesFromClaim(claimAt(payload, this.settings.rolesClaim)) };
  }
}

/** Without OIDC settings a JWT is refused with a message that says why, instead of "unknown API key". */
export class NoJwtStrategy extends PassportStrategy(PassportCustom, JWT_STRATEGY) {
  validate(): [false, string] {
    return [false, 'this service does not accept JWTs: OIDC is not configured (OIDC_ISSUER, OIDC_AUDIENCE, OIDC_JWKS_URL)'];
  }
}
