import type { IncomingHttpHeaders } from 'node:http';

/** A credential as sent: an API key (X-API-Key, or a bearer that is not a JWT) or a JWT bearer token. */
export type PresentedCredential = { kind: 'api-key' | 'jwt'; value: string } | { kind: 'none' } | { kind: 'malformed'; problem: string };

/** Three base64url segments: a compact JWS. API keys (`fsk_…`) never contain a dot. */
const COMPACT_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** Reads the one credential a request carries from `Authorization: Bearer …` or `X-API-Key`. */
export function presentedCredential(headers: IncomingHttpHeaders): PresentedCredential {
  const authorization = headers.authorization;
  const apiKey = headers['x-api-key'];
  if (Array.isArray(apiKey)) return { kind: 'malformed', problem: 'X-API-Key appears more than once' };
  if (authorization !== undefined) {
    if (apiKey !== undefined) return { kind: 'malformed', problem: 'send one credential: Authorization or X-API-Key, not both' };
    const bearer = /^Bearer +(\S+)\s*$/i.exec(authorization);
    if (!bearer) return { kind: 'malformed', problem: 'Authorization must be "Bearer <API key or token>"' };
    const value = bearer[1]!;
    return { kind: COMPACT_JWT.test(value) ? 'jwt' : 'api-key', value };
  }
  if (apiKey !== undefined) return apiKey.trim() === '' ? { kind: 'malformed', problem: 'X-API-Key is empty' } : { kind: 'api-key', value: apiKey.trim() };
  return { kind: 'none' };
}
