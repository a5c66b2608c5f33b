import { GatewayTimeoutException, ServiceUnavailableException } from '@nestjs/common';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { HistoryForwarder, VIA } from './history-forwarder';

describe('HistoryForwarder', () => {
  let server: Server;
  let url: string;
  let received: IncomingHttpHeaders | undefined;
  let answer: (respond: (status: number, headers: Record<string, string>, body: string) => void) => void;

  beforeAll(async () => {
    server = createServer((request, response) => {
      received = request.headers;
      answer((status, headers, body) => response.writeHead(status, headers).end(body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('passes the credential and the query, and returns status, body bytes and content headers', async () => {
    answer = (respond) => respond(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer', 'x-internal': 'no' }, '{"message":"nope"}');
    const result = await new HistoryForwarder(url, 1000).forward('/devices/d1/telemetry?limit=5', { authorization: 'Bearer k', 'x-api-key': undefined, cookie: 'c=1' });
    expect(result).toEqual({ status: 401, headers: { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }, body: Buffer.from('{"message":"nope"}') });
    expect(received).toMatchObject({ authorization: 'Bearer k', via: VIA });
    expect(received).not.toHaveProperty('cookie');
  });

  it('answers 504 naming HISTORY_FORWARD_TIMEOUT_MS when the instance does not answer in time', async () => {
    answer = () => undefined;
    const started = Date.now();
    const failure = new HistoryForwarder(url, 300).forward('/x', {});
    await expect(failure).rejects.toBeInstanceOf(GatewayTimeoutException);
    await expect(failure).rejects.toMatchObject({ response: { message: expect.stringMatching(/HISTORY_URL .* within 300 ms \(HISTORY_FORWARD_TIMEOUT_MS\)/) } });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('answers 503 naming HISTORY_URL and the reason when nothing listens there', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const failure = new HistoryForwarder(closedUrl, 1000).forward('/x', {});
    await expect(failure).rejects.toBeInstanceOf(ServiceUnavailableException);
    await expect(failure).rejects.toMatchObject({ response: { message: `history is answered by the instance at HISTORY_URL (${closedUrl}), which cannot be reached: ${`connect ECONNREFUSED ${closedUrl.slice(7)}`}` } });
  });

  it('refuses a request that was forwarded already instead of forwarding it in a loop', async () => {
    const failure = new HistoryForwarder(url, 1000).forward('/x', { via: `1.1 proxy, ${VIA}` });
    await expect(failure).rejects.toMatchObject({ response: { message: expect.stringMatching(/does not run the history processor either/) } });
  });
});
