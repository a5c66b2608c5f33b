import { loadConfig } from '@fleetstream/config';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kafkaSettings } from './kafka-settings';

const dir = mkdtempSync(join(tmpdir(), 'kafka-settings-'));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
const settingsOf = (env: Record<string, string>) => kafkaSettings(loadConfig(env), 'app');
const problemsOf = (env: Record<string, string>) => {
  try {
    loadConfig(env);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected an invalid configuration');
};

describe('kafkaSettings', () => {
  it('is plaintext and anonymous without security settings', () => {
    expect(settingsOf({ KAFKA_BROKERS: 'a:9092,b:9092' })).toEqual({ brokers: ['a:9092', 'b:9092'], clientId: 'app' });
  });

  it('passes the SASL mechanism, username and password', () => {
    const settings = settingsOf({ KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_USERNAME: 'fleet', KAFKA_SASL_PASSWORD: 's3cret' });
    expect(settings.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'fleet', password: 's3cret' });
    expect(settings.ssl).toBeUndefined();
  });

  it('reads the password from KAFKA_SASL_PASSWORD_FILE without its trailing newline', () => {
    const settings = settingsOf({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'fleet', KAFKA_SASL_PASSWORD_FILE: file('password', 'from-file\n') });
    expect(settings.sasl).toEqual({ mechanism: 'plain', username: 'fleet', password: 'from-file' });
  });

  it('reads the CA, client certificate and key PEMs for TLS', () => {
    const settings = settingsOf({
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: file('ca.pem', 'CA'),
      KAFKA_SSL_CERT_FILE: file('client.pem', 'CERT'),
      KAFKA_SSL_KEY_FILE: file('client.key', 'KEY'),
    });
    expect(settings.ssl).toEqual({ rejectUnauthorized: true, ca: ['CA'], cert: 'CERT', key: 'KEY' });
  });

  it("reads KAFKA_SSL and KAFKA_SSL_REJECT_UNAUTHORIZED strictly: 'false' is false", () => {
    expect(settingsOf({ KAFKA_SSL: 'false' }).ssl).toBeUndefined();
    expect(settingsOf({ KAFKA_SSL: 'true', KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' }).ssl).toEqual({ rejectUnauthorized: false });
    expect(problemsOf({ KAFKA_SSL: 'yes' })).toMatch(/KAFKA_SSL: Invalid enum value/);
  });

  it('names the variable whose file cannot be read', () => {
    expect(() => settingsOf({ KAFKA_SSL: 'true', KAFKA_SSL_CA_FILE: join(dir, 'missing.pem') })).toThrow(/KAFKA_SSL_CA_FILE: cannot read .*missing\.pem/);
  });
});

describe('Kafka security settings validation', () => {
  it('wants a username and a password with a mechanism', () => {
    const message = problemsOf({ KAFKA_SASL_MECHANISM: 'scram-sha-256' });
    expect(message).toMatch(/KAFKA_SASL_USERNAME: required with KAFKA_SASL_MECHANISM=scram-sha-256/);
    expect(message).toMatch(/KAFKA_SASL_PASSWORD: required/);
  });

  it('wants a mechanism with a username or password', () => {
    expect(problemsOf({ KAFKA_SASL_USERNAME: 'fleet', KAFKA_SASL_PASSWORD: 'x' })).toMatch(/KAFKA_SASL_MECHANISM: required when a SASL username or password is set/);
  });

  it('rejects an unknown mechanism and two password sources', () => {
    expect(problemsOf({ KAFKA_SASL_MECHANISM: 'gssapi', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p' })).toMatch(/KAFKA_SASL_MECHANISM: Invalid enum value/);
    expect(problemsOf({ KAFKA_SASL_MECHANISM: 'plain', KAFKA_SASL_USERNAME: 'u', KAFKA_SASL_PASSWORD: 'p', KAFKA_SASL_PASSWORD_FILE: '/p' })).toMatch(
      /KAFKA_SASL_PASSWORD_FILE: set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both/,
    );
  });

  it('rejects TLS files without KAFKA_SSL=true (they would be ignored: plaintext)', () => {
    expect(problemsOf({ KAFKA_SSL_CA_FILE: '/ca.pem' })).toMatch(/KAFKA_SSL_CA_FILE: has no effect without KAFKA_SSL=true/);
    expect(problemsOf({ KAFKA_SSL_REJECT_UNAUTHORIZED: 'false' })).toMatch(/KAFKA_SSL_REJECT_UNAUTHORIZED: has no effect without KAFKA_SSL=true/);
  });

  it('wants a client certificate and its key together', () => {
    expect(problemsOf({ KAFKA_SSL: 'true', KAFKA_SSL_CERT_FILE: '/c.pem' })).toMatch(/KAFKA_SSL_KEY_FILE: required with KAFKA_SSL_CERT_FILE/);
    expect(problemsOf({ KAFKA_SSL: 'true', KAFKA_SSL_KEY_FILE: '/c.key' })).toMatch(/KAFKA_SSL_CERT_FILE: required with KAFKA_SSL_KEY_FILE/);
  });

  it('never puts the password in the error message', () => {
    expect(problemsOf({ KAFKA_SASL_USERNAME: 'fleet', KAFKA_SASL_PASSWORD: 'hunter2-secret' })).not.toContain('hunter2-secret');
  });
});
