import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingHttpHeaders, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got. */
export interface ReceivedDelivery {
  headers: IncomingHttpHeaders;
  body: string;
  /** Parsed body. */
  json: { id: string; type: string; alarmId: string; deviceId: string; [field: string]: unknown };
  receivedAt: number;
  /** What the receiver answered. */
  answer?: Answer;
}

/** What the receiver does with a request: answer with a status, or never answer (a hung receiver). */
export type Answer = number | 'hang';

/**
 * A real HTTP webhook receiver (node:http) on a free local port. `answer` decides per request, so a
 * test makes it fail, hang past the timeout, and recover; every request is recorded.
 */
export class WebhookReceiver {
  readonly received: ReceivedDelivery[] = [];
  answer: (delivery: ReceivedDelivery) => Answer = () => 204;
  private readonly hung = new Set<ServerResponse>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<WebhookReceiver> {
    const server = createServer();
    const receiver = new WebhookReceiver(server);
    server.on('request', (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const delivery: ReceivedDelivery = { headers: request.headers, body, json: JSON.parse(body) as ReceivedDelivery['json'], receivedAt: Date.now() };
        receiver.received.push(delivery);
        const answer = receiver.answer(delivery);
        delivery.answer = answer;
        if (answer === 'hang') receiver.hung.add(response);
        else response.writeHead(answer).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hook`;
  }

  /** The requests for this notification (the `id` in the body), in arrival order. */
  deliveriesOf(id: string): ReceivedDelivery[] {
    return this.received.filter((delivery) => delivery.json.id === id);
  }

  async close(): Promise<void> {
    for (const response of this.hung) response.destroy();
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/**
 * A receiver's check, as the README tells users to write it: the HMAC-SHA256 of `<timestamp>.<body>`
 * with the shared secret, compared in constant time, and a timestamp no older than `toleranceS`.
 */
export function verifySignature(delivery: Pick<ReceivedDelivery, 'headers' | 'body'>, secret: string, toleranceS = 300, now = Date.now()): boolean {
  const timestamp = String(delivery.headers['x-fleetstream-timestamp']);
  const signature = String(delivery.headers['x-fleetstream-signature']);
  const expected = `sha256=${createHmac('sha256', secret).update(`${timestamp}.${delivery.body}`).digest('hex')}`;
  const fresh = Math.abs(now / 1000 - Number(timestamp)) <= toleranceS;
  return fresh && signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
}
