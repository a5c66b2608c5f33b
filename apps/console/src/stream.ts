import { EventSource } from 'eventsource';
import { useCallback, useRef, useState } from 'preact/hooks';
import { streamHeaders } from './api';
import { refusedCredential, session } from './session';
import type { TwinView } from './types';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'closed' | 'forbidden' | 'not-found';

export interface TwinStreamHandlers {
  twin(twin: TwinView): void;
  removed(deviceId: string): void;
  state(state: StreamState): void;
}

/** What a stream's owner hears: each named event's data (parsed JSON), and the stream's state. */
export interface StreamListeners {
  events: Record<string, (data: unknown) => void>;
  state(state: StreamState): void;
}

/**
 * A Server-Sent Events stream of the API with the session's key as a header: the browser's own
 * EventSource cannot send one, the `eventsource` package can (through fetch) and reconnects like it.
 * Returns a function that closes the stream.
 */
export function openStream(path: string, query: Record<string, string | undefined>, listeners: StreamListeners): () => void {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value) params.set(name, value);
  const search = params.toString();
  const source = new EventSource(search ? `${path}?${search}` : path, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...streamHeaders() } }),
  });
  listeners.state('connecting');
  source.onopen = () => listeners.state('live');
  // a network error: the stream reconnects by itself; an HTTP error (code) closes it for good
  source.onerror = (error) => {
    if (error.code === 401) session.signOut(refusedCredential());
    else if (error.code === 403) listeners.state('forbidden');
    else if (error.code === 404) listeners.state('not-found');
    else listeners.state(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  };
  for (const [type, listener] of Object.entries(listeners.events)) source.addEventListener(type, (event) => listener(JSON.parse(event.data)));
  return () => source.close();
}

/** A twin stream: the fleet's (GET /devices/twins/stream) or one device's (GET /devices/:id/twin/stream). */
export function openTwinStream(path: string, query: Record<string, string | undefined>, handlers: TwinStreamHandlers): () => void {
  return openStream(path, query, {
    events: { twin: (data) => handlers.twin(data as TwinView), removed: (data) => handlers.removed((data as { deviceId: string }).deviceId) },
    state: handlers.state,
  });
}

export const STREAM_STATE_TEXT: Record<StreamState, string> = {
  connecting: 'Connecting to live updates…',
  live: 'Live',
  reconnecting: 'Live updates interrupted: reconnecting…',
  closed: 'Live updates stopped (the server closed the stream); reload to retry',
  forbidden: 'Your role may not read twins.',
  'not-found': 'No such device: a device appears with its first telemetry.',
};

/**
 * A stream's state for a page, and how many times it came back live after an interruption. The fleet
 * and alarm streams do not replay what happened while they were down, so a page reads its list
 * again when that count moves.
 */
export function useStreamState(): [StreamState, (state: StreamState) => void, number] {
  const [state, setState] = useState<StreamState>('connecting');
  const [resumed, setResumed] = useState(0);
  const interrupted = useRef(false);
  const onState = useCallback((next: StreamState) => {
    if (next === 'reconnecting') interrupted.current = true;
    else if (next === 'live' && interrupted.current) {
      interrupted.current = false;
      setResumed((count) => count + 1);
    }
    setState(next);
  }, []);
  return [state, onState, resumed];
}
