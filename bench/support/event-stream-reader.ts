import { createParser, EventSourceMessage } from 'eventsource-parser';

/** A live text/event-stream response, read event by event (a test's or a benchmark's EventSource). */
export class EventStreamReader {
  private readonly received: EventSourceMessage[] = [];
  private wake: (() => void) | undefined;
  private ended: Error | undefined;

  private constructor(
    private readonly abort: AbortController,
    readonly status: number,
  ) {}

  static async open(url: string, headers: Record<string, string> = {}): Promise<EventStreamReader> {
    const abort = new AbortController();
    const response = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers }, signal: abort.signal });
    const stream = new EventStreamReader(abort, response.status);
    if (response.ok && response.body) void stream.pump(response.body);
    return stream;
  }

  /** Called with every event as it arrives, in addition to the queue `next` reads. */
  onEvent: ((event: EventSourceMessage) => void) | undefined;

  /** The next event; fails after the timeout, or when the stream ended. */
  async next(timeoutMs = 20_000): Promise<EventSourceMessage & { json: unknown }> {
    const deadline = Date.now() + timeoutMs;
    while (this.received.length === 0) {
      if (this.ended) throw this.ended;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no server-sent event within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => (clearTimeout(timer), resolve());
      });
    }
    const event = this.received.shift()!;
    return { ...event, json: JSON.parse(event.data) };
  }

  close(): void {
    this.abort.abort();
  }

  private async pump(body: ReadableStream<Uint8Array>): Promise<void> {
    const parser = createParser({
      onEvent: (event) => {
        if (this.onEvent) this.onEvent(event);
        else this.received.push(event);
        this.wake?.();
      },
    });
    const decoder = new TextDecoder();
    try {
      for await (const chunk of body) parser.feed(decoder.decode(chunk, { stream: true }));
      this.ended = new Error('the event stream ended');
    } catch (error) {
      this.ended = error as Error;
    }
    this.wake?.();
  }
}
