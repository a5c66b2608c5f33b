import { loadConfig } from '@fleetstream/config';
import { claimAt, oidcSettings } from './oidc-settings';

describe('identity settings', () => {
  it('reads an empty ADMIN_API_KEY or OIDC variable as unset (an env file with VAR=)', () => {
    const config = loadConfig({ ADMIN_API_KEY: '', OIDC_ISSUER: '', OIDC_AUDIENCE: '', OIDC_JWKS_URL: '' });
    expect(config.ADMIN_API_KEY).toBeUndefined();
    expect(oidcSettings(config)).toBeUndefined();
  });

  it('refuses a short bootstrap key, naming the variable', () => {
    expect(() => loadConfig({ ADMIN_API_KEY: 'secret' })).toThrow(/ADMIN_API_KEY: at least 32 characters/);
  });

  it('needs the three OIDC settings together', () => {
    expect(() => oidcSettings(loadConfig({ OIDC_ISSUER: 'https://idp.example.com/' }))).toThrow(/missing OIDC_AUDIENCE, OIDC_JWKS_URL/);
    const oidc = oidcSettings(loadConfig({ OIDC_ISSUER: 'https://idp.example.com/', OIDC_AUDIENCE: 'fleetstream', OIDC_JWKS_URL: 'https://idp.example.com/jwks' }));
    expect(oidc).toEqual({ issuer: 'https://idp.example.com/', audience: 'fleetstream', jwksUrl: 'https://idp.example.com/jwks', rolesClaim: 'roles' });
  });

  it("adds the console's client with its scope, and refuses it without the OIDC settings", () => {
    const trio = { OIDC_ISSUER: 'https://idp.example.com/', OIDC_AUDIENCE: 'fleetstream', OIDC_JWKS_URL: 'https://idp.example.com/jwks' };
    expect(oidcSettings(loadConfig({ ...trio, OIDC_CONSOLE_CLIENT_ID: 'fleetstream-console' }))?.console).toEqual({ clientId: 'fleetstream-console', scope: 'openid' });
    expect(oidcSettings(loadConfig({ ...trio, OIDC_CONSOLE_CLIENT_ID: '' }))?.console).toBeUndefined();
    expect(() => oidcSettings(loadConfig({ OIDC_CONSOLE_CLIENT_ID: 'fleetstream-console' }))).toThrow(/OIDC_CONSOLE_CLIENT_ID needs OIDC_ISSUER/);
  });

  it('finds the roles claim by name or dotted path', () => {
    expect(claimAt({ roles: ['viewer'] }, 'roles')).toEqual(['viewer']);
    expect(claimAt({ realm_access: { roles: ['admin'] } }, 'realm_access.roles')).toEqual(['admin']);
    expect(claimAt({ 'https://fleetstream/roles': 'operator' }, 'https://fleetstream/roles')).toBe('operator');
    expect(claimAt({ realm_access: 'x' }, 'realm_access.roles')).toBeUndefined();
  });
});
