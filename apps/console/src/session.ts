/**
 * The credential of this tab's session, an API key or an OIDC access token: in sessionStorage (gone
 * when the tab closes), never in a URL. Both go to the server as a bearer.
 */
const STORAGE_KEY = 'fleetstream.apiKey';
/** Who the server said the key is (GET /auth/whoami at sign-in): what the console offers. The server still decides every request. */
const IDENTITY_KEY = 'fleetstream.identity';

export interface Identity {
  actor: string;
  kind: 'api-key' | 'oidc';
  roles: string[];
  rights: string[];
}

/** Where an OIDC provider sends the browser back: the console client's redirect URI is <console origin>/signin-callback. */
export const SIGN_IN_CALLBACK = '/signin-callback';

type Listener = (key: string | null) => void;
const listeners = new Set<Listener>();

export const session = {
  /** The key, once the server has said who it is (a key kept without an identity is not a session). */
  key(): string | null {
    return sessionStorage.getItem(IDENTITY_KEY) === null ? null : sessionStorage.getItem(STORAGE_KEY);
  },
  identity(): Identity | null {
    const stored = sessionStorage.getItem(IDENTITY_KEY);
    return stored === null ? null : (JSON.parse(stored) as Identity);
  },
  signIn(key: string, identity: Identity): void {
    sessionStorage.setItem(STORAGE_KEY, key);
    sessionStorage.setItem(IDENTITY_KEY, JSON.stringify(identity));
    listeners.forEach((listener) => listener(key));
  },
  /** Forgets the key; `reason` is shown on the sign-in page (say, the server no longer accepts it). */
  signOut(reason?: string): void {
    sessionStorage.removeItem(STORAGE_KEY);
    sessionStorage.removeItem(IDENTITY_KEY);
    signOutReason = reason ?? null;
    listeners.forEach((listener) => listener(null));
  },
  onChange(listener: Listener): () => void {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  /** Why the last sign-out happened, once (the sign-in page shows it). */
  takeSignOutReason(): string | null {
    const reason = signOutReason;
    signOutReason = null;
    return reason;
  },
};

let signOutReason: string | null = null;

/** Whether the signed-in caller's roles hold `right` (a right of libs/domain's RIGHTS): to show or hide an action, never to allow it. */
export function may(right: string): boolean {
  return session.identity()?.rights.includes(right) ?? false;
}

/** Why the server's 401 signed the session out, in the words of how it signed in. */
export function refusedCredential(): string {
  return session.identity()?.kind === 'oidc'
    ? 'Your sign-in has expired (or the server no longer accepts it). Sign in again.'
    : 'The server did not accept your API key (revoked, expired or mistyped). Sign in again.';
}
