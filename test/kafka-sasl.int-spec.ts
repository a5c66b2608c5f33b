import { createKafka, kafkaSettings, TelemetryProducer } from '@fleetstream/kafka';
import { loadConfig } from '@fleetstream/config';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ServerProcess } from './support/server-process';
import { connectedTelemetryProducer, createTestStack, reading, readTopic, stackEnv, TestStack } from './support/test-stack';

/**
 * The local stack's SASL_PLAINTEXT listener (infra/local/stack.sh: KAFKA_SASL_PORT, 9094 by default),
 * where the stack script created the SCRAM user fleetstream / fleetstream-local. Every client here —
 * the test's own, the service, the CLI — reaches Kafka only through it.
 */
const SASL_BROKERS = `127.0.0.1:${process.env.KAFKA_SASL_PORT ?? '9094'}`;
const scram = (password = 'fleetstream-local'): Record<string, string> => ({
  KAFKA_BROKERS: SASL_BROKERS,
  KAFKA_SASL_MECHANISM: 'scram-sha-512',
  KAFKA_SASL_USERNAME: 'fleetstream',
  KAFKA_SASL_PASSWORD: password,
});
const WRONG_PASSWORD = 'not-the-password-4711';

/** The SASL_SSL listener (KAFKA_SASL_SSL_PORT, 9095): SCRAM over TLS, and a client certificate signed by the stack's CA. */
const TLS_DIR = resolve(process.env.FLEETSTREAM_DATA_DIR ?? resolve(__dirname, '../.data'), 'kafka/tls');
const scramOverTls = (tls: Record<string, string> = { KAFKA_SSL_CERT_FILE: `${TLS_DIR}/client.pem`, KAFKA_SSL_KEY_FILE: `${TLS_DIR}/client.key` }) => ({
  ...scram(),
  KAFKA_BROKERS: `127.0.0.1:${process.env.KAFKA_SASL_SSL_PORT ?? '9095'}`,
  KAFKA_SSL: 'true',
  KAFKA_SSL_CA_FILE: `${TLS_DIR}/ca.pem`,
  ...tls,
});
/** Connects an admin client with these settings; the error message, or undefined when it connected. */
const connectError = async (env: Record<string, string>): Promise<string | undefined> => {
  const admin = createKafka(kafkaSettings(loadConfig(env), 'it-connect')).admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    await admin.listTopics();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await admin.disconnect();
  }
};

/** The built CLI: dist/ of this checkout, or FLEETSTREAM_TEST_CLI_MAIN (another build). */
const cliMain = process.env.FLEETSTREAM_TEST_CLI_MAIN ?? resolve(__dirname, '../dist/apps/cli/src/main.js');
const runCli = (stack: TestStack, env: Record<string, string>, ...args: string[]) =>
  promisify(execFile)(process.execPath, [cliMain, ...args], { env: { ...process.env, ...stackEnv(stack), ...env }, timeout: 60_000 });

describe('Kafka with SASL/SCRAM: service, CLI and clients authenticate on the SASL listener', () => {
  let stack: TestStack;
  let producer: TelemetryProducer | undefined;

  beforeAll(async () => {
    // the stack's own admin and producers go through kafkaSettings too: they authenticate with SCRAM
    stack = await createTestStack(scram());
  });

  afterAll(async () => {
    await producer?.disconnect();
  });

  it('the service authenticates, becomes ready and turns telemetry into twins', async () => {
    const server = await ServerProcess.create(stack, scram());
    try {
      await server.start();
      producer = await connectedTelemetryProducer(stack);
      await producer.send([reading('sasl-dev-1', 1), reading('sasl-dev-2', 1)]);
      const twins = await readTopic(stack, stack.topics.twins, 2, 30_000);
      expect(new Set(twins.map((record) => record.key?.toString()))).toEqual(new Set(['sasl-dev-1', 'sasl-dev-2']));
    } finally {
      await server.stop();
    }
  });

  it('a wrong password fails the client with an authentication error, not a hang or a timeout', async () => {
    expect(await connectError(scram(WRONG_PASSWORD))).toMatch(/SASL SCRAM SHA512 authentication failed.*invalid credentials/);
  });

  it('a wrong password stops the service at start with the reason, and the password is not in its output', async () => {
    const server = await ServerProcess.create(stack, scram(WRONG_PASSWORD));
    const failure = await server.start().then(
      () => undefined,
      (error: Error) => error.message,
    );
    await server.stop();
    expect(failure).toMatch(/^server exited with 1/);
    expect(failure).toMatch(/fleetstream failed to start: SASL SCRAM SHA512 authentication failed/);
    expect(failure).not.toContain(WRONG_PASSWORD);
  });

  it('the CLI authenticates: topics reports every topic without drift', async () => {
    const { stdout } = await runCli(stack, scram(), 'topics', '--json');
    const result = JSON.parse(stdout) as { drifted: boolean; topics: { topic: string; missing: boolean }[] };
    expect(result.drifted).toBe(false);
    expect(result.topics.map((t) => t.topic)).toContain(stack.topics.twins);
  });

  it('the CLI with a wrong password exits non-zero with the authentication error', async () => {
    const failure = await runCli(stack, scram(WRONG_PASSWORD), 'topics', '--json').then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(1);
    expect(failure?.stderr).toMatch(/fleetstream: SASL SCRAM SHA512 authentication failed/);
    expect(failure?.stderr).not.toContain(WRONG_PASSWORD);
  });
});

describe('Kafka with SCRAM over TLS and a client certificate (SASL_SSL)', () => {
  it('the service connects with the CA, client certificate and SCRAM settings, becomes ready and turns telemetry into twins', async () => {
    const stack = await createTestStack(scramOverTls());
    const server = await ServerProcess.create(stack, scramOverTls());
    const producer = await connectedTelemetryProducer(stack);
    try {
      await server.start();
      await producer.send([reading('tls-dev-1', 1)]);
      const twins = await readTopic(stack, stack.topics.twins, 1, 30_000);
      expect(twins.map((record) => record.key?.toString())).toEqual(['tls-dev-1']);
    } finally {
      await producer.disconnect();
      await server.stop();
    }
  });

  it('without KAFKA_SSL_CA_FILE the broker certificate is not trusted (the CA file is what makes it work)', async () => {
    const { KAFKA_SSL_CA_FILE: _ca, ...withoutCa } = scramOverTls();
    expect(await connectError(withoutCa)).toMatch(/unable to verify the first certificate|self.signed certificate/);
  });

  it('without the client certificate and key the broker refuses the TLS handshake', async () => {
    expect(await connectError(scramOverTls({}))).toMatch(/bad certificate|certificate required|alert/);
  });
});
