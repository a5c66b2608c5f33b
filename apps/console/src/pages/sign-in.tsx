import { useEffect, useState } from 'preact/hooks';
import { checkKey, OidcSignIn, signInMethods } from '../api';
import { session } from '../session';

/** The identity provider's sign-in, when the server has one configured: a button that leaves for the provider's page. */
function ProviderSignIn({ oidc }: { oidc: OidcSignIn }) {
  const [leaving, setLeaving] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);

  async function leave() {
    setLeaving(true);
    setProblem(null);
    try {
      const { startSignIn } = await import('../oidc');
      await startSignIn(oidc);
    } catch (error) {
      setProblem(`The identity provider could not be reached: ${(error as Error).message}`);
      setLeaving(false);
    }
  }

  return (
    <section aria-labelledby="provider-heading">
      <h2 id="provider-heading">With your organisation's account</h2>
      <button type="button" onClick={leave} aria-busy={leaving} disabled={leaving} aria-describedby="provider-help">
        Sign in with {new URL(oidc.issuer).host}
      </button>
      <p>
        <small id="provider-help">{problem ?? 'Your identity provider signs you in and gives this tab a token; your roles come from it.'}</small>
      </p>
    </section>
  );
}

export function SignInPage() {
  const [reason] = useState(() => session.takeSignOutReason());
  const [key, setKey] = useState('');
  const [problem, setProblem] = useState<string | null>(null);
  const [checking, setChecking] = useState(false);
  const [oidc, setOidc] = useState<OidcSignIn | null>(null);
  useEffect(() => {
    // without an answer the page offers API keys, which always work
    signInMethods().then((methods) => setOidc(methods.oidc), () => setOidc(null));
  }, []);

  async function submit(event: Event) {
    event.preventDefault();
    setChecking(true);
    setProblem(null);
    try {
      const answer = await checkKey(key.trim());
      if (answer === 'refused') setProblem('The server does not accept this API key. Check it, or ask an admin for a new one.');
      else if (answer === 'no-roles' || !answer.rights.includes('twins:read'))
        setProblem(`This key is valid, but its role (${answer === 'no-roles' ? 'none' : answer.roles.join(', ')}) may not read the fleet (viewer, operator or admin may).`);
      else session.signIn(key.trim(), answer);
    } catch (error) {
      setProblem(`The server could not be reached or failed: ${(error as Error).message}`);
    } finally {
      setChecking(false);
    }
  }

  return (
    <main class="container sign-in">
      <article>
        <header>
          <h1>fleetstream console</h1>
        </header>
        {reason && (
          <p role="alert" class="notice">
            {reason}
          </p>
        )}
        {oidc && (
          <>
            <ProviderSignIn oidc={oidc} />
            <h2>Or with an API key</h2>
          </>
        )}
        <form onSubmit={submit}>
          <label for="api-key">
            API key
            <input
              id="api-key"
              name="api-key"
              type="password"
              autocomplete="off"
              required
              value={key}
              onInput={(event) => setKey(event.currentTarget.value)}
              aria-invalid={problem ? 'true' : undefined}
              aria-describedby="api-key-help"
            />
            <small id="api-key-help">{problem ?? 'An fsk_… key: `npm run demo` prints the admin key; `npm run cli -- keys create` makes others. It stays in this tab only.'}</small>
          </label>
          <button type="submit" aria-busy={checking} disabled={checking}>
            Sign in
          </button>
        </form>
      </article>
    </main>
  );
}
