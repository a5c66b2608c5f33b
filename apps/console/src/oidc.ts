import { InMemoryWebStorage, UserManager, WebStorageStateStore } from 'oidc-client-ts';
import type { OidcSignIn } from './api';
import { SIGN_IN_CALLBACK } from './session';

/**
 * The authorization code flow with PKCE (S256) through oidc-client-ts, loaded only when a person
 * chooses the provider. The state and code verifier wait in sessionStorage for the browser's
 * return; the library keeps no user of its own (the session keeps the access token, as it keeps a key).
 */
function manager(settings: OidcSignIn): UserManager {
  return new UserManager({
    authority: settings.issuer,
    client_id: settings.clientId,
    redirect_uri: `${location.origin}${SIGN_IN_CALLBACK}`,
    response_type: 'code',
    scope: settings.scope,
    // Auth0 issues a JWT for the API only when asked for its audience; other providers ignore the parameter (RFC 6749 3.1)
    extraQueryParams: { audience: settings.audience },
    stateStore: new WebStorageStateStore({ store: sessionStorage }),
    userStore: new WebStorageStateStore({ store: new InMemoryWebStorage() }),
    loadUserInfo: false,
    automaticSilentRenew: false,
    monitorSession: false,
  });
}

/** Sends the browser to the provider's sign-in page. */
export function startSignIn(settings: OidcSignIn): Promise<void> {
  return manager(settings).signinRedirect();
}

/** Exchanges the code the provider sent back (with the verifier kept for it) for the access token. */
export async function finishSignIn(settings: OidcSignIn): Promise<string> {
  const user = await manager(settings).signinRedirectCallback();
  return user.access_token;
}
