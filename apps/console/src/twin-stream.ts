import { EventSource } from 'eventsource';
import { streamHeaders } from './api';
import type { TwinView } from './types';

export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'closed';

export interface TwinStreamHandlers {
  twin(twin: TwinView): void;
  removed(deviceId: string): void;
  state(state: StreamState): void;
}

/**
 * The twin stream (GET /devices/twins/stream, Server-Sent Events) with the session's key as a header:
 * the browser's own EventSource cannot send one, the `eventsource` package can (through fetch) and
 * reconnects like it. Returns a function that closes the stream.
 */
export function openTwinStream(query: Record<string, string | undefined>, handlers: TwinStreamHandlers): () => void {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value) params.set(name, value);
  const source = new EventSource(`/devices/twins/stream?${params.toString()}`, {
    fetch: (input, init) => fetch(input, { ...init, headers: { ...init.headers, ...streamHeaders() } }),
  });
  handlers.state('connecting');
  source.onopen = () => handlers.state('live');
  // the stream reconnects by itself after a network error; it closes for good on an HTTP error
  source.onerror = () => handlers.state(source.readyState === EventSource.CLOSED ? 'closed' : 'reconnecting');
  source.addEventListener('twin', (event) => handlers.twin(JSON.parse(event.data) as TwinView));
  source.addEventListener('removed', (event) => handlers.removed((JSON.parse(event.data) as { deviceId: string }).deviceId));
  return () => source.close();
}
