import { Dispatch, StateUpdater, useEffect, useState } from 'preact/hooks';
import { Identity, refusedCredential, session } from './session';

/** An API answer that is not a success, with the server's message(s) as it gave them. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly messages: string[],
  ) {
    super(messages.join('; ') || `HTTP ${status}`);
  }

  /** The messages that name `field` (Nest's validation names the query parameter first). */
  about(field: string): string[] {
    return this.messages.filter((message) => message.startsWith(`${field} `));
  }
}

/** The caller's role does not hold the right the route needs (403): the server refused; the console says so. */
export class ForbiddenError extends ApiError {}

export const ROLE_MAY_NOT = 'Your role may not do this.';

function authorization(key: string): Record<string, string> {
  return { Authorization: `Bearer ${key}` };
}

async function errorOf(response: Response): Promise<ApiError> {
  const body = (await response.json().catch(() => ({}))) as { message?: string | string[] };
  const messages = Array.isArray(body.message) ? body.message : body.message ? [body.message] : [];
  return response.status === 403 ? new ForbiddenError(403, messages) : new ApiError(response.status, messages);
}

/**
 * A request with the session's key. 401 signs the session out (the key was revoked or mistyped):
 * the console goes back to sign-in and says why.
 */
export async function apiFetch(path: string, init: RequestInit = {}): Promise<Response> {
  const key = session.key();
  if (key === null) throw new ApiError(401, ['not signed in']);
  const response = await fetch(path, { ...init, headers: { Accept: 'application/json', ...authorization(key), ...init.headers } });
  if (response.status === 401) {
    session.signOut(refusedCredential());
    throw await errorOf(response);
  }
  if (!response.ok) throw await errorOf(response);
  return response;
}

export async function getJson<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(name, String(value));
  const search = params.toString();
  return (await apiFetch(search ? `${path}?${search}` : path)).json() as Promise<T>;
}

/** Who the server says `key` is (GET /auth/whoami), or why not: asked once, before the key is kept. */
export async function checkKey(key: string): Promise<Identity | 'refused' | 'no-roles'> {
  const response = await fetch('/auth/whoami', { headers: { Accept: 'application/json', ...authorization(key) } });
  if (response.status === 401) return 'refused';
  if (response.status === 403) return 'no-roles';
  if (!response.ok) throw await errorOf(response);
  return (await response.json()) as Identity;
}

/** The console's OIDC sign-in as the server describes it (GET /auth/sign-in-methods). */
export interface OidcSignIn {
  issuer: string;
  clientId: string;
  scope: string;
  audience: string;
}

/** How this server lets people sign in: asked before anyone is signed in (the route is public). */
export async function signInMethods(): Promise<{ apiKey: boolean; oidc: OidcSignIn | null }> {
  const response = await fetch('/auth/sign-in-methods', { headers: { Accept: 'application/json' } });
  if (!response.ok) throw await errorOf(response);
  return response.json() as Promise<{ apiKey: boolean; oidc: OidcSignIn | null }>;
}

/** Headers for a stream request (the twin stream), which cannot go through apiFetch's JSON handling. */
export function streamHeaders(): Record<string, string> {
  const key = session.key();
  return key === null ? {} : authorization(key);
}

/** What a page holds of a GET: loading, the answer's fields, or the error. */
export type Load<T> = { state: 'loading' } | ({ state: 'loaded' } & T) | { state: 'failed'; error: Error };

/**
 * GETs `path` with `query` again whenever `deps` change; the answer of a request a newer one
 * replaced is dropped. The setter lets a page fold stream events into what it shows.
 */
export function useGet<T extends object>(path: string, query: Record<string, string | number | undefined>, deps: unknown[]): [Load<T>, Dispatch<StateUpdater<Load<T>>>] {
  const [load, setLoad] = useState<Load<T>>({ state: 'loading' });
  useEffect(() => {
    let current = true;
    setLoad({ state: 'loading' });
    getJson<T>(path, query).then(
      (answer) => current && setLoad({ state: 'loaded', ...answer }),
      (error: Error) => current && setLoad({ state: 'failed', error }),
    );
    return () => {
      current = false;
    };
  }, deps);
  return [load, setLoad];
}
