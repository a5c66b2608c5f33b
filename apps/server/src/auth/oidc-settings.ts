import type { AppConfig } from '../infrastructure/fleetstream.config';

export interface OidcSettings {
  issuer: string;
  audience: string;
  jwksUrl: string;
  rolesClaim: string;
  /** The console's public client (authorization code + PKCE), when it signs people in through the provider. */
  console?: { clientId: string; scope: string };
}

/** The OIDC settings when all three are set, undefined when none is; a partial set is a configuration error. */
export function oidcSettings(config: AppConfig): OidcSettings | undefined {
  const { OIDC_ISSUER: issuer, OIDC_AUDIENCE: audience, OIDC_JWKS_URL: jwksUrl } = config;
  const given = { OIDC_ISSUER: issuer, OIDC_AUDIENCE: audience, OIDC_JWKS_URL: jwksUrl };
  const missing = Object.entries(given).filter(([, value]) => value === undefined).map(([name]) => name);
  const clientId = config.OIDC_CONSOLE_CLIENT_ID;
  if (missing.length === 3) {
    if (clientId !== undefined) throw new Error('Invalid fleetstream configuration: OIDC_CONSOLE_CLIENT_ID needs OIDC_ISSUER, OIDC_AUDIENCE and OIDC_JWKS_URL (the tokens the console gets are checked with them)');
    return undefined;
  }
  if (missing.length > 0) throw new Error(`Invalid fleetstream configuration: OIDC needs OIDC_ISSUER, OIDC_AUDIENCE and OIDC_JWKS_URL together; missing ${missing.join(', ')}`);
  return {
    issuer: issuer!,
    audience: audience!,
    jwksUrl: jwksUrl!,
    rolesClaim: config.OIDC_ROLES_CLAIM,
    ...(clientId === undefined ? {} : { console: { clientId, scope: config.OIDC_CONSOLE_SCOPE } }),
  };
}

/** A claim by name, or by dotted path for providers that nest roles (Keycloak: realm_access.roles). */
export function claimAt(payload: Record<string, unknown>, path: string): unknown {
  if (path in payload) return payload[path];
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}
