/** The API key of this tab's session: in sessionStorage (gone when the tab closes), never in a URL. */
const STORAGE_KEY = 'fleetstream.apiKey';

type Listener = (key: string | null) => void;
const listeners = new Set<Listener>();

export const session = {
  key(): string | null {
    return sessionStorage.getItem(STORAGE_KEY);
  },
  signIn(key: string): void {
    sessionStorage.setItem(STORAGE_KEY, key);
    listeners.forEach((listener) => listener(key));
  },
  /** Forgets the key; `reason` is shown on the sign-in page (say, the server no longer accepts it). */
  signOut(reason?: string): void {
    sessionStorage.removeItem(STORAGE_KEY);
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

/** What a person can tell keys apart by without the whole secret: its prefix and last four characters. */
export function keyHint(key: string): string {
  return key.length > 12 ? `${key.slice(0, 4)}…${key.slice(-4)}` : '…';
}
