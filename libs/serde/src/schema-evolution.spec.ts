import { AlertRule, applyCommand, CommandRequest, evolveCommand, initialTwin, TwinSettings } from '@fleetstream/domain';
import avro from 'avsc';
import { fromCommandEventRecord, fromCommandStateSnapshot, toCommandEventRecord, toCommandStateSnapshot } from './command-records';
import { readAvroSchema, schemaWithout } from './schema-files';
import { fromTwinSnapshot, toTwinSnapshot } from './twin-snapshot';
import type { AlertEventRecord } from './alert-event-record';
import { AlertRuleRecord, fromAlertRuleRecord, toAlertRuleRecord } from './alert-rule-record';

// Records written before the audit fields (actor, requestedBy, cancelledBy, desiredChanged*) were
// added stay on the topics for their retention, and compacted ones forever: they must still read.

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);

/** `value` written with the older schema, read with the current one (as the registry codec resolves writer to reader). */
function readAsOld<T>(name: string, added: string[], value: object): T {
  const reader = avro.Type.forSchema(readAvroSchema(name));
  const writer = avro.Type.forSchema(schemaWithout(readAvroSchema(name), added));
  const old = Object.fromEntries(Object.entries(value).filter(([field]) => !added.includes(field)));
  return reader.fromBuffer(writer.toBuffer(old), reader.createResolver(writer)) as T;
}

const request: CommandRequest = {
  commandId: 'c1', deviceId: 'dev-1', name: 'reboot', params: {}, ttlMs: 60_000,
  timeouts: { deliveryMs: 1000, acceptanceMs: 2000, executionMs: 3000 }, maxAttempts: 2,
  backoff: { initialMs: 100, maxMs: 1000 }, ordered: true, idempotencyKey: null, bodyHash: 'abc', requestedBy: 'key:ops-bot',
};
const settings: TwinSettings = { silenceMs: 60_000, maxPatchBytes: 1024, maxDesiredBytes: 2048, maxReportedFields: 10 };

describe('a record written before callers were audited', () => {
  it('a REQUESTED or CANCELLATION_REQUESTED command event reads with no caller', () => {
    const requested = toCommandEventRecord({ type: 'CommandRequested', data: request, metadata: { at: T0 } });
    const cancelled = toCommandEventRecord({ type: 'CommandCancelled', data: { commandId: 'c1', deviceId: 'dev-1', reason: null, cancelledBy: 'key:ops-bot' }, metadata: { at: T0 } });
    expect(fromCommandEventRecord(readAsOld('command-event', ['actor'], requested)).data).toMatchObject({ requestedBy: null, name: 'reboot' });
    expect(fromCommandEventRecord(readAsOld('command-event', ['actor'], cancelled)).data).toMatchObject({ cancelledBy: null });
  });

  it('a command state reads with nobody as requester or canceller', () => {
    const state = evolveCommand(null, { type: 'CommandRequested', data: request, metadata: { at: T0 } });
    const read = fromCommandStateSnapshot(readAsOld('command-state', ['requestedBy', 'cancelledBy'], toCommandStateSnapshot(state)));
    expect(read).toEqual({ ...state, cancelledBy: null, request: { ...request, requestedBy: null } });
  });

  it('a device event reads with no actor', () => {
    const event = { deviceId: 'dev-1', requestId: 'r-1', at: T0, kind: 'DESIRED_PATCH', patchJson: '{"rate":5}', expectedVersion: null, online: null, actor: 'key:ops-bot' };
    expect(readAsOld('device-event', ['actor'], event)).toMatchObject({ kind: 'DESIRED_PATCH', actor: null });
  });

  it('a twin reads with nobody and no time for its last desired change', () => {
    const applied = applyCommand(initialTwin('dev-1'), { type: 'PatchDesired', data: { deviceId: 'dev-1', patch: { rate: 5 }, actor: 'key:ops-bot' }, metadata: { now: T0, requestId: 'r-1' } }, settings);
    if (!('twin' in applied)) throw new Error('patch refused');
    const read = fromTwinSnapshot(readAsOld('device-twin', ['desiredChangedAt', 'desiredChangedBy'], toTwinSnapshot(applied.twin)));
    expect(read).toEqual({ ...applied.twin, desiredChangedAt: null, desiredChangedBy: null });
  });
});

describe('an alert record written before rules named webhook sinks', () => {
  const rule: AlertRule = { name: 'silent', severity: 'warning', condition: { type: 'absence', forSeconds: 300 } };

  it('a rule reads as one that names no sink', () => {
    const old = readAsOld<AlertRuleRecord>('alert-rule', ['notify'], toAlertRuleRecord('r-1', rule, { revision: 1, updatedAt: T0, updatedBy: 'key:ops-bot' }));
    expect(old.notify).toEqual([]);
    expect(fromAlertRuleRecord(old)).toEqual({ ok: true, rule });
  });

  it('an alarm event reads as one for the global sinks only', () => {
    const event = { type: 'RAISED', alarmId: 'r-1:dev-1:1', ruleId: 'r-1', ruleName: 'silent', severity: 'warning', deviceId: 'dev-1', at: T0, metric: null, value: null, readingEventTime: null, readingSeq: null, reason: null, actor: null, note: null };
    expect(readAsOld<AlertEventRecord>('alert-event', ['notify'], event).notify).toEqual([]);
  });
});

describe('a twin written now', () => {
  it('keeps who last changed desired state, and when, through Avro (device-twin.avsc)', () => {
    const applied = applyCommand(initialTwin('dev-1'), { type: 'PatchDesired', data: { deviceId: 'dev-1', patch: { rate: 5 }, actor: 'jwt:alice@example.com' }, metadata: { now: T0, requestId: 'r-1' } }, settings);
    if (!('twin' in applied)) throw new Error('patch refused');
    const type = avro.Type.forSchema(readAvroSchema('device-twin'));
    const snapshot = toTwinSnapshot(applied.twin);
    expect(snapshot).toMatchObject({ desiredChangedBy: 'jwt:alice@example.com', desiredChangedAt: T0 });
    expect(fromTwinSnapshot(type.fromBuffer(type.toBuffer(snapshot)))).toEqual(applied.twin);
  });
});
