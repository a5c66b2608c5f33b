import { useEffect } from 'preact/hooks';
import { useLocation } from 'wouter-preact';
import { checkKey, signInMethods } from '../api';
import { session } from '../session';

/**
 * The page the identity provider sends the browser back to: trades the code for the access token,
 * asks the server who that is, and signs in; or goes back to sign-in saying what failed.
 */
export function OidcCallbackPage() {
  const [, navigate] = useLocation();
  useEffect(() => {
    (async () => {
      const { oidc } = await signInMethods();
      if (!oidc) throw new Error('this server has no OIDC sign-in configured (OIDC_CONSOLE_CLIENT_ID)');
      const { finishSignIn } = await import('../oidc');
      const token = await finishSignIn(oidc);
      const identity = await checkKey(token);
      if (identity === 'refused') throw new Error(`the server did not accept the identity provider's access token: it must be a JWT for the audience ${oidc.audience}`);
      if (identity === 'no-roles' || !identity.rights.includes('twins:read')) {
        throw new Error(`your roles (${identity === 'no-roles' ? 'none' : identity.roles.join(', ')}) may not read the fleet: viewer, operator or admin may`);
      }
      session.signIn(token, identity);
      // the code and state leave the address bar and the history
      navigate('/fleet', { replace: true });
    })().catch((error: Error) => {
      // a stale return to this page (a reload, the back button) leaves the tab's session as it is
      if (session.key() !== null) return navigate('/fleet', { replace: true });
      session.signOut(`Sign-in through the identity provider failed: ${error.message}`);
      navigate('/', { replace: true });
    });
  }, []);
  return (
    <main class="container">
      <p aria-busy="true">Signing in…</p>
    </main>
  );
}
