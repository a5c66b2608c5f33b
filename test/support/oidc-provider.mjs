// A real OpenID Provider for the console's sign-in tests: node-oidc-provider (OpenID Certified), run as
// its own process (it is an ES module) with its development login page, which takes any login and
// password. The console is a public client (no secret) that must use PKCE (S256); access tokens are
// RS256 JWTs for the audience the service requires, with the roles the login's prefix names
// (admin-…, operator-…, viewer-…; any other login gets none).
//
//   node test/support/oidc-provider.mjs <port> <console redirect URI> <audience> [client id]
//
// Prints one JSON line ({"issuer": …, "jwksUrl": …}) once it listens.
import Provider from 'oidc-provider';

const [port, redirectUri, audience, clientId = 'fleetstream-console'] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
// a resource indicator is an absolute URI; the token's aud is the audience below
const RESOURCE = 'urn:fleetstream:api';
const rolesOf = (login) => ['admin', 'operator', 'viewer'].filter((role) => login.startsWith(`${role}-`));

const provider = new Provider(issuer, {
  clients: [{ client_id: clientId, token_endpoint_auth_method: 'none', redirect_uris: [redirectUri], grant_types: ['authorization_code'], response_types: ['code'] }],
  pkce: { required: () => true },
  cookies: { keys: ['fleetstream-test-cookie-key'] },
  findAccount: (_ctx, accountId) => ({ accountId, claims: () => ({ sub: accountId }) }),
  features: {
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: 'api', audience, accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
    },
  },
  extraTokenClaims: (_ctx, token) => (token.kind === 'AccessToken' ? { roles: rolesOf(token.accountId) } : undefined),
  // a first-party client, as a company's provider registers its own console: no consent page
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope('openid');
    grant.addResourceScope(RESOURCE, 'api');
    await grant.save();
    return grant;
  },
});
provider.listen(Number(port), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ issuer, jwksUrl: `${issuer}/jwks` })}\n`);
});
