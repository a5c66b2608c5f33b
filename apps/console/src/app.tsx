import { lazy, Suspense } from 'preact/compat';
import { useEffect, useState } from 'preact/hooks';
import { Link, Redirect, Route, Switch, useLocation } from 'wouter-preact';
import { AlarmsPage } from './pages/alarms';
import { FleetPage } from './pages/fleet';
import { OidcCallbackPage } from './pages/oidc-callback';
import { SignInPage } from './pages/sign-in';
import { may, session, SIGN_IN_CALLBACK } from './session';

// the device page carries the chart library (uPlot): loaded when first opened, not with the fleet page
const DevicePage = lazy(() => import('./pages/device').then(({ DevicePage }) => DevicePage));
// for admins only: not in the bundle everybody loads
const DeadLettersPage = lazy(() => import('./pages/dead-letters').then(({ DeadLettersPage }) => DeadLettersPage));

/** The signed-in key, following sign-in and sign-out (a 401 anywhere signs out). */
function useSessionKey(): string | null {
  const [key, setKey] = useState(session.key());
  useEffect(() => session.onChange(setKey), []);
  return key;
}

export function App() {
  const key = useSessionKey();
  const [path] = useLocation();
  const identity = session.identity();
  if (path === SIGN_IN_CALLBACK) return <OidcCallbackPage />;
  if (key === null || identity === null) return <SignInPage />;
  return (
    <>
      <header class="container-fluid">
        <nav aria-label="Main">
          <ul>
            <li>
              <strong>fleetstream</strong>
            </li>
            <li>
              <Link href="/fleet">Fleet</Link>
            </li>
            <li>
              <Link href="/alarms">Alarms</Link>
            </li>
            {may('dead-letters:read') && (
              <li>
                <Link href="/dlq">Dead letters</Link>
              </li>
            )}
          </ul>
          <ul>
            <li>
              <span data-testid="signed-in-as">
                Signed in as <code>{identity.actor}</code> ({identity.roles.join(', ')})
              </span>
            </li>
            <li>
              <button type="button" class="secondary outline" onClick={() => session.signOut()}>
                Sign out
              </button>
            </li>
          </ul>
        </nav>
      </header>
      <main class="container-fluid">
        <Suspense fallback={<p aria-busy="true">Loading…</p>}>
          <Switch>
            <Route path="/fleet" component={FleetPage} />
            <Route path="/fleet/:deviceId" component={DevicePage} />
            <Route path="/alarms" component={AlarmsPage} />
            {/* not /dead-letters: that path is the API's, and a page load there would get its JSON */}
            <Route path="/dlq" component={DeadLettersPage} />
            <Route>
              <Redirect to="/fleet" replace />
            </Route>
          </Switch>
        </Suspense>
      </main>
    </>
  );
}
