import { generateKeyPairSync, KeyObject, sign } from 'node:crypto';
import { createServer, Server } from 'node:http';

/**
 * A token issuer for tests: an RSA key pair made here, its public half served as a JWKS over real HTTP
 * (what jwks-rsa fetches), and RS256 tokens signed with the private half.
 */
export class OidcIssuer {
  readonly issuer = 'https://issuer.fleetstream.test/';
  readonly audience = 'fleetstream-api';
  private readonly kid = 'test-key-1';
  private readonly privateKey: KeyObject;
  private readonly server: Server;
  jwksUrl = '';
  /** While true the JWKS endpoint answers 503, like an identity provider that is down. */
  failing = false;

  constructor() {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = privateKey;
    const jwks = JSON.stringify({ keys: [{ ...publicKey.export({ format: 'jwk' }), kid: this.kid, alg: 'RS256', use: 'sig' }] });
    this.server = createServer((_request, response) =>
      this.failing ? response.writeHead(503).end('identity provider down') : response.writeHead(200, { 'content-type': 'application/json' }).end(jwks),
    );
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.jwksUrl = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/jwks.json`;
    return this;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** The settings that make the service trust this issuer. */
  env(): Record<string, string> {
    return { OIDC_ISSUER: this.issuer, OIDC_AUDIENCE: this.audience, OIDC_JWKS_URL: this.jwksUrl };
  }

  /** A compact RS256 JWT; defaults: this issuer and audience, valid for an hour, signed under this issuer's key id. */
  token(claims: Record<string, unknown>, kid = this.kid): string {
    const now = Math.floor(Date.now() / 1000);
    const header = { alg: 'RS256', typ: 'JWT', kid };
    const payload = { iss: this.issuer, aud: this.audience, iat: now, exp: now + 3600, ...claims };
    const encode = (part: object) => Buffer.from(JSON.stringify(part)).toString('base64url');
    const signingInput = `${encode(header)}.${encode(payload)}`;
    return `${signingInput}.${sign('sha256', Buffer.from(signingInput), this.privateKey).toString('base64url')}`;
  }
}
