import { DLQ_HEADERS } from '@fleetstream/kafka';
import { ServerProcess } from './support/server-process';
import { connectedTelemetryProducer, createTestStack, eventually, readTopic, reading, TestStack } from './support/test-stack';

interface TwinBody {
  version: number;
  desired: Record<string, unknown>;
}
type PatchAnswer = { status: number; headers: Headers; body: TwinBody & { message?: string; reason?: string } };

/**
 * PATCH /devices/:id/twin/desired answers with what the twin processor decided about THIS patch,
 * correlated by request id through Kafka: two instances, one that only serves REST (so its answers
 * must come from the other one's processor) and one that runs the twin processor with tighter
 * limits than the REST instance checks.
 */
describe('PATCH desired answers with its own outcome (e2e)', () => {
  let stack: TestStack;
  let processor: ServerProcess;
  let rest: ServerProcess;
  const patch = (server: ServerProcess, deviceId: string, body: object, ifMatch?: string) =>
    server.request<PatchAnswer['body']>('PATCH', `/devices/${deviceId}/twin/desired`, body, ifMatch ? { 'if-match': ifMatch } : {}) as Promise<PatchAnswer>;
  const twinOf = (deviceId: string) => rest.request<TwinBody>('GET', `/devices/${deviceId}/twin`);
  /** The twin processor's dead letters for a device, by reason. */
  const deadLetterReasons = async (deviceId: string, atLeast: number) =>
    (await readTopic(stack, stack.topics.telemetryDlq, atLeast, 5_000))
      .filter((record) => record.key?.toString() === deviceId)
      .map((record) => record.headers[DLQ_HEADERS.reason]?.toString());

  beforeAll(async () => {
    stack = await createTestStack();
    [processor, rest] = await Promise.all([
      ServerProcess.create(stack, { PROCESSORS: 'twins', TWIN_MAX_DESIRED_BYTES: '2048', TWIN_MAX_PATCH_BYTES: '1536' }).then((server) => server.start()),
      ServerProcess.create(stack, { PROCESSORS: '' }).then((server) => server.start()),
    ]);
    const producer = await connectedTelemetryProducer(stack);
    const devices = ['valve-race', 'valve-match', 'valve-full', 'valve-invalid'];
    await producer.send(devices.map((deviceId) => reading(deviceId, 1)));
    await producer.disconnect();
    for (const server of [processor, rest]) {
      for (const deviceId of devices) await eventually(async () => (await server.request('GET', `/devices/${deviceId}/twin`)).status, (status) => status === 200, 60_000);
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all([processor?.stop(), rest?.stop()]);
  });

  it('racing patches each answer 200 with a twin that contains their own patch (ETag = its version)', async () => {
    const keys = Array.from({ length: 8 }, (_, i) => `key${i}`);
    // half through the REST-only instance, half through the processor's: the answer travels through Kafka either way
    const answers = await Promise.all(keys.map((key, i) => patch(i % 2 ? processor : rest, 'valve-race', { [key]: i })));
    answers.forEach((answer, i) => {
      expect({ key: keys[i], status: answer.status }).toEqual({ key: keys[i], status: 200 });
      expect(answer.body.desired[keys[i]!]).toBe(i);
      expect(answer.headers.get('etag')).toBe(`"${answer.body.version}"`);
    });
    expect(Object.keys((await twinOf('valve-race')).body.desired).sort()).toEqual(keys);
  });

  it('two patches with the same If-Match at once: one 200, the other 412 from the twin processor (not 202, not 200 without its patch)', async () => {
    const { headers } = await twinOf('valve-match');
    const ifMatch = headers.get('etag')!;
    const [first, second] = await Promise.all([patch(rest, 'valve-match', { first: 1 }, ifMatch), patch(rest, 'valve-match', { second: 2 }, ifMatch)]);
    const answers = [first, second].sort((a, b) => a.status - b.status);
    expect(answers.map((answer) => answer.status)).toEqual([200, 412]);
    const [won, lost] = answers as [PatchAnswer, PatchAnswer];
    expect(lost.body).toMatchObject({ reason: 'patch-version-conflict', message: expect.stringMatching(/not \d+ \(If-Match\); read it again and retry/) });
    const winnerKey = won === first ? 'first' : 'second';
    const loserKey = won === first ? 'second' : 'first';
    expect(Object.keys(won.body.desired)).toEqual([winnerKey]);
    expect(won.headers.get('etag')).toBe(`"${won.body.version}"`);
    expect((await twinOf('valve-match')).body.desired).not.toHaveProperty(loserKey);
    // refused by the processor, not by the REST pre-check: it is dead-lettered there, and the dead letter stays
    expect(await deadLetterReasons('valve-match', 1)).toContain('patch-version-conflict');
  });

  it('a patch that makes desired state too large only merged with a concurrent one: one 200, the other 413 from the twin processor', async () => {
    // each alone fits TWIN_MAX_DESIRED_BYTES (2048) and passes the pre-check; both together do not
    const [first, second] = await Promise.all([patch(processor, 'valve-full', { a: 'x'.repeat(1200) }), patch(processor, 'valve-full', { b: 'y'.repeat(1200) })]);
    const answers = [first, second].sort((a, b) => a.status - b.status);
    expect(answers.map((answer) => answer.status)).toEqual([200, 413]);
    expect(answers[1]!.body).toMatchObject({ reason: 'desired-too-large', message: expect.stringMatching(/desired state would be \d+ bytes of JSON after this patch; the limit is 2048/) });
    expect(await deadLetterReasons('valve-full', 2)).toContain('desired-too-large');
  });

  it("a patch the REST instance accepts but the processor's limits refuse answers 400 with the processor's error", async () => {
    // 1600 bytes: under the REST instance's TWIN_MAX_PATCH_BYTES (64 KiB), over the processor's (1536)
    const answer = await patch(rest, 'valve-invalid', { blob: 'z'.repeat(1600) });
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ reason: 'invalid-patch', message: expect.stringMatching(/patch is \d+ bytes; the limit is 1536/) });
    expect((await twinOf('valve-invalid')).body.desired).toEqual({});
  });
});
