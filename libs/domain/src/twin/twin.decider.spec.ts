import type { Telemetry } from '../telemetry/telemetry';
import type { TwinCommand } from './twin.commands';
import { connectivityAt, decide, delta, desiredStateDue, DeviceTwin, evolve, initialTwin, rejectionReason, TwinSettings } from './twin.decider';
import type { TwinEvent, TwinRejection } from './twin.events';

const settings: TwinSettings = { silenceMs: 60_000, maxPatchBytes: 1024, maxDesiredBytes: 2048, maxReportedFields: 5 };
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const reading = (seq: number, eventTime: number, metrics: Record<string, number>, attributes: Record<string, string> = {}): Telemetry => ({
  deviceId: 'dev-1', eventTime, seq, metrics, attributes,
});
const record = (data: Telemetry, now = data.eventTime): TwinCommand => ({ type: 'RecordTelemetry', data, metadata: { now } });

/** given(events).when(command) → the events decided, or the refusal, and the twin after them. */
function given(...commands: TwinCommand[]) {
  let twin: DeviceTwin = initialTwin('dev-1');
  for (const command of commands) {
    const decision = decide(command, twin, settings);
    if ('rejection' in decision) throw new Error(`given: ${JSON.stringify(decision.rejection)}`);
    twin = decision.events.reduce(evolve, twin);
  }
  return {
    twin,
    when(command: TwinCommand) {
      const decision = decide(command, twin, settings);
      const events: TwinEvent[] = 'events' in decision ? decision.events : [];
      return { decision, events, twin: events.reduce(evolve, twin) };
    },
  };
}

describe('twin decider', () => {
  describe('when a new device reports', () => {
    const { events, twin } = given().when(record(reading(1, T0, { temperature: 21 }, { firmware: '1.0' })));
    it('records the reading and marks the device online from its telemetry', () => {
      expect(events.map((e) => e.type)).toEqual(['TelemetryReported', 'DeviceConnected']);
      expect(twin).toMatchObject({
        version: 2,
        reported: { temperature: { value: 21, at: T0 }, firmware: { value: '1.0', at: T0 } },
        firstSeen: T0,
        lastSeen: T0,
        connectivity: { online: true, source: 'telemetry' },
      });
    });
  });

  describe('when telemetry arrives out of order', () => {
    const { twin } = given(record(reading(2, T0 + 1000, { temperature: 22 }))).when(record(reading(1, T0, { temperature: 21, battery: 90 })));
    it('keeps the newer value of each field and fills fields it did not have', () => {
      expect(twin.reported.temperature).toEqual({ value: 22, at: T0 + 1000 });
      expect(twin.reported.battery).toEqual({ value: 90, at: T0 });
      expect(twin.lastSeen).toBe(T0 + 1000);
      expect(twin.firstSeen).toBe(T0);
    });
  });

  describe('when the same reading is delivered twice', () => {
    const first = record(reading(1, T0, { temperature: 21 }));
    it('decides nothing the second time, so the version does not move', () => {
      const { events, twin } = given(first).when(first);
      expect(events).toEqual([]);
      expect(twin.version).toBe(2);
    });
    it('decides nothing for an older duplicate either', () => {
      const { events } = given(first, record(reading(2, T0 + 1000, { temperature: 22 }))).when(first);
      expect(events).toEqual([]);
    });
  });

  describe('when two readings share an event time and the older one is delivered again', () => {
    const older = record(reading(1, T0, { temperature: 21 }));
    const newer = record(reading(2, T0, { temperature: 22 }));
    it('keeps the higher seq and decides nothing, so a replay leaves the twin as it was', () => {
      const { events, twin } = given(older, newer).when(older);
      expect(events).toEqual([]);
      expect(twin.reported.temperature).toEqual({ value: 22, at: T0 });
    });
    it('lets the higher seq win whichever arrives first', () => {
      expect(given(newer).when(older).twin.reported.temperature).toEqual({ value: 22, at: T0 });
    });
  });

  describe('when operators patch desired state', () => {
    const patch = (body: Record<string, unknown>, expectedVersion?: number): TwinCommand => ({
      type: 'PatchDesired',
      data: { deviceId: 'dev-1', patch: body as never, expectedVersion },
      metadata: { now: T0, requestId: 'req-1' },
    });
    const reported = given(record(reading(1, T0, { setpoint: 20 })));

    it('merges the patch (null deletes) and reports the delta', () => {
      const { twin } = given(record(reading(1, T0, { setpoint: 20 })), patch({ setpoint: 22, mode: 'eco', fan: 1 })).when(patch({ fan: null }));
      expect(twin.desired).toEqual({ setpoint: 22, mode: 'eco' });
      expect(delta(twin)).toEqual({ setpoint: 22, mode: 'eco' });
    });
    it('has no delta once the device reports the desired value', () => {
      const { twin } = given(patch({ setpoint: 22 })).when(record(reading(2, T0 + 1, { setpoint: 22 })));
      expect(delta(twin)).toEqual({});
    });
    it('refuses a stale expected version', () => {
      const { decision } = reported.when(patch({ setpoint: 22 }, 1));
      expect(decision).toEqual({ rejection: { type: 'VersionConflict', expectedVersion: 1, actualVersion: 2 } });
      expect(rejectionReason((decision as { rejection: TwinRejection }).rejection)).toEqual({
        reason: 'patch-version-conflict',
        error: 'the twin is at version 2, not 1 (If-Match); read it again and retry',
      });
    });
    it('accepts the current expected version', () => {
      expect(reported.when(patch({ setpoint: 22 }, 2)).events.map((e) => e.type)).toEqual(['DesiredPatched']);
    });
    it.each([
      ['an array', ['a']],
      ['a patch over the size limit', { blob: 'x'.repeat(2000) }],
    ])('refuses %s', (_name, body) => {
      const { decision } = reported.when(patch(body as never));
      expect(decision).toMatchObject({ rejection: { type: 'InvalidPatch' } });
      expect(rejectionReason((decision as { rejection: TwinRejection }).rejection).reason).toBe('invalid-patch');
    });
    it('decides nothing for a patch that changes nothing', () => {
      expect(given(patch({ mode: 'eco' })).when(patch({ mode: 'eco' })).events).toEqual([]);
    });
  });

  describe('when someone changes desired state', () => {
    const patchBy = (body: Record<string, number | null>, actor: string | null | undefined, now: number): TwinCommand => ({
      type: 'PatchDesired', data: { deviceId: 'dev-1', patch: body, actor }, metadata: { now, requestId: `r-${now}` },
    });
    const patched = given(record(reading(1, T0, { t: 1 })), patchBy({ rate: 5 }, 'key:ops-bot', T0 + 1));

    it('records who on the DesiredPatched event, and the twin keeps who and when', () => {
      const { events, twin } = patched.when(patchBy({ rate: 6 }, 'jwt:alice@example.com', T0 + 2));
      expect(events).toEqual([{ type: 'DesiredPatched', data: { deviceId: 'dev-1', patch: { rate: 6 }, actor: 'jwt:alice@example.com' }, metadata: { at: T0 + 2, requestId: `r-${T0 + 2}` } }]);
      expect(twin).toMatchObject({ desiredChangedBy: 'jwt:alice@example.com', desiredChangedAt: T0 + 2 });
    });
    it('keeps the last one who changed it when a patch changes nothing', () => {
      expect(patched.when(patchBy({ rate: 5 }, 'jwt:alice@example.com', T0 + 2)).twin).toMatchObject({ desiredChangedBy: 'key:ops-bot', desiredChangedAt: T0 + 1 });
    });
    it('keeps it through telemetry and connectivity', () => {
      const offline: TwinCommand = { type: 'ReportConnectivity', data: { deviceId: 'dev-1', online: false }, metadata: { now: T0 + 3 } };
      const later = given(record(reading(1, T0, { t: 1 })), patchBy({ rate: 5 }, 'key:ops-bot', T0 + 1), offline).when(record(reading(2, T0 + 4, { rate: 5 })));
      expect(later.twin).toMatchObject({ desiredChangedBy: 'key:ops-bot', desiredChangedAt: T0 + 1 });
    });
    it('knows nobody when the patch names nobody (a record from before callers were audited)', () => {
      const { events, twin } = patched.when(patchBy({ rate: 7 }, undefined, T0 + 2));
      expect(events[0]!.data).toMatchObject({ actor: null });
      expect(twin).toMatchObject({ desiredChangedBy: null, desiredChangedAt: T0 + 2 });
    });
    it('has nobody and no time on a twin whose desired state was never set', () => {
      expect(given(record(reading(1, T0, { t: 1 }))).twin).toMatchObject({ desiredChangedBy: null, desiredChangedAt: null });
    });
    it('records who removed the device, and a twin started afresh forgets who changed its desired state', () => {
      const remove: TwinCommand = { type: 'RemoveDevice', data: { deviceId: 'dev-1', actor: 'key:admin' }, metadata: { now: T0 + 5 } };
      const removed = patched.when(remove);
      expect(removed.events).toEqual([{ type: 'DeviceRemoved', data: { deviceId: 'dev-1', actor: 'key:admin' }, metadata: { at: T0 + 5 } }]);
      const again = given(record(reading(1, T0, { t: 1 })), patchBy({ rate: 5 }, 'key:ops-bot', T0 + 1), remove).when(record(reading(2, T0 + 6, { t: 2 })));
      expect(again.twin).toMatchObject({ desiredChangedBy: null, desiredChangedAt: null, desired: {} });
    });
  });

  describe('when a patch would make desired state larger than the cap', () => {
    const patch = (body: Record<string, unknown>): TwinCommand => ({ type: 'PatchDesired', data: { deviceId: 'dev-1', patch: body as never }, metadata: { now: T0, requestId: 'req-1' } });
    const nearlyFull = given(patch({ a: 'x'.repeat(900) }), patch({ b: 'x'.repeat(900) }));

    it('refuses it as desired-too-large, naming the merged size and the cap', () => {
      const { decision, twin } = nearlyFull.when(patch({ c: 'x'.repeat(900) }));
      expect(decision).toMatchObject({ rejection: { type: 'DesiredTooLarge', reason: 'desired-too-large', limit: 2048 } });
      const rejection = (decision as { rejection: { bytes: number; error: string } }).rejection;
      expect(rejection.bytes).toBe(JSON.stringify(twin.desired).length + JSON.stringify({ c: 'x'.repeat(900) }).length - 1);
      expect(rejection.error).toContain(`${rejection.bytes} bytes`);
      expect(rejection.error).toContain('2048');
      expect(rejectionReason((decision as { rejection: TwinRejection }).rejection)).toEqual({ reason: 'desired-too-large', error: rejection.error });
    });
    it('counts UTF-8 bytes, not characters', () => {
      expect(nearlyFull.when(patch({ c: 'é'.repeat(150) })).decision).toMatchObject({ rejection: { type: 'DesiredTooLarge' } });
    });
    it('accepts a patch that replaces a key and stays within the cap', () => {
      expect(nearlyFull.when(patch({ a: 'y'.repeat(900) })).events.map((e) => e.type)).toEqual(['DesiredPatched']);
    });
    it('lets a twin already over a lowered cap shrink', () => {
      const lowered = { ...settings, maxDesiredBytes: 100 };
      const decision = decide(patch({ a: null }), nearlyFull.twin, lowered);
      expect('events' in decision && decision.events.map((e) => e.type)).toEqual(['DesiredPatched']);
      expect(decide(patch({ c: 1 }), nearlyFull.twin, lowered)).toMatchObject({ rejection: { type: 'DesiredTooLarge' } });
    });
  });

  describe('when a reading would give the twin more reported fields than the cap', () => {
    const full = given(record(reading(1, T0, { m1: 1, m2: 2, m3: 3 }, { a1: 'x', a2: 'y' })));

    it('refuses it as twin-too-large, naming the count and the cap', () => {
      const { decision, twin } = full.when(record(reading(2, T0 + 1, { m4: 4 })));
      expect(decision).toMatchObject({ rejection: { type: 'TwinTooLarge', reason: 'twin-too-large', fields: 6, limit: 5 } });
      expect((decision as { rejection: { error: string } }).rejection.error).toMatch(/6 reported fields.*limit is 5/);
      expect(twin).toBe(full.twin);
    });
    it('accepts new values of the fields it has', () => {
      expect(full.when(record(reading(2, T0 + 1, { m1: 10, m2: 20 }, { a1: 'z' }))).twin.reported.m1).toEqual({ value: 10, at: T0 + 1 });
    });
    it('counts a name used as a metric and as an attribute once', () => {
      expect(given().when(record(reading(1, T0, { a: 1, b: 2, c: 3, d: 4, e: 5 }, { a: 'x' }))).events.map((e) => e.type)).toContain('TelemetryReported');
    });
    it('refuses a first reading that alone is past the cap', () => {
      expect(given().when(record(reading(1, T0, { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 }))).decision).toMatchObject({ rejection: { type: 'TwinTooLarge', fields: 6 } });
    });
    it('counts from nothing after the device was removed', () => {
      const remove: TwinCommand = { type: 'RemoveDevice', data: { deviceId: 'dev-1' }, metadata: { now: T0 + 1 } };
      const again = given(record(reading(1, T0, { m1: 1, m2: 2, m3: 3, m4: 4, m5: 5 })), remove).when(record(reading(2, T0 + 2, { n1: 1, n2: 2, n3: 3 })));
      expect(again.twin.reported).toEqual({ n1: { value: 1, at: T0 + 2 }, n2: { value: 2, at: T0 + 2 }, n3: { value: 3, at: T0 + 2 } });
    });
  });

  describe('when the device falls silent', () => {
    const heard = given(record(reading(1, T0, { t: 1 })));
    const check = (now: number): TwinCommand => ({ type: 'CheckSilence', data: { deviceId: 'dev-1' }, metadata: { now } });
    it('stays online within the silence window', () => expect(heard.when(check(T0 + 59_000)).events).toEqual([]));
    it('goes offline after it, and back online with its next reading', () => {
      const silent = heard.when(check(T0 + 60_000));
      expect(silent.twin.connectivity).toEqual({ online: false, since: T0 + 60_000, source: 'silence' });
      const back = given(record(reading(1, T0, { t: 1 })), check(T0 + 60_000)).when(record(reading(2, T0 + 61_000, { t: 2 })));
      expect(back.twin.connectivity).toMatchObject({ online: true, source: 'telemetry' });
    });
  });

  describe('when the twin is read after a silence', () => {
    it('shows the device offline from the end of the window, before any check recorded it', () => {
      const { twin } = given(record(reading(1, T0, { t: 1 })));
      expect(connectivityAt(twin, T0 + 59_000, settings.silenceMs)).toMatchObject({ online: true, source: 'telemetry' });
      expect(connectivityAt(twin, T0 + 90_000, settings.silenceMs)).toEqual({ online: false, since: T0 + 60_000, source: 'silence' });
    });
  });

  describe('when a gateway reports connectivity', () => {
    const offline: TwinCommand = { type: 'ReportConnectivity', data: { deviceId: 'dev-1', online: false }, metadata: { now: T0 + 5 } };
    it('its word wins over telemetry and silence', () => {
      const { twin } = given(record(reading(1, T0, { t: 1 })), offline).when(record(reading(2, T0 + 10, { t: 2 })));
      expect(twin.connectivity).toEqual({ online: false, since: T0 + 5, source: 'gateway' });
    });
  });

  describe('when the device is removed', () => {
    const remove: TwinCommand = { type: 'RemoveDevice', data: { deviceId: 'dev-1' }, metadata: { now: T0 } };
    it('leaves an empty, removed twin, and a new reading starts it afresh', () => {
      const removed = given(record(reading(1, T0, { t: 1 }))).when(remove);
      expect(removed.twin).toMatchObject({ removed: true, reported: {}, version: 3 });
      const again = given(record(reading(1, T0, { t: 1 })), remove).when(record(reading(2, T0 + 1, { t: 2 })));
      expect(again.twin).toMatchObject({ removed: false, reported: { t: { value: 2 } }, version: 5 });
    });
    it('refuses to remove a device it never saw', () => {
      expect(given().when(remove).decision).toEqual({ rejection: { type: 'UnknownDevice', deviceId: 'dev-1' } });
    });
  });

  describe('when the events are folded again', () => {
    it('gives the same twin (restart = same twin)', () => {
      const commands = [record(reading(1, T0, { t: 1 })), record(reading(3, T0 + 2, { t: 3 })), record(reading(2, T0 + 1, { t: 2, u: 1 }))];
      const events: TwinEvent[] = [];
      let twin = initialTwin('dev-1');
      for (const command of commands) {
        const decision = decide(command, twin, settings);
        if ('events' in decision) {
          events.push(...decision.events);
          twin = decision.events.reduce(evolve, twin);
        }
      }
      expect(events.reduce(evolve, initialTwin('dev-1'))).toEqual(twin);
    });
  });
});

describe('when desired state must reach the device', () => {
  const connected = (online: boolean, now: number): TwinCommand => ({ type: 'ReportConnectivity', data: { deviceId: 'dev-1', online }, metadata: { now } });
  const patch = (desired: Record<string, number>, now: number): TwinCommand => ({
    type: 'PatchDesired', data: { deviceId: 'dev-1', patch: desired }, metadata: { now, requestId: `r-${now}` },
  });
  const due = (before: DeviceTwin, command: TwinCommand) => {
    const decision = decide(command, before, settings);
    const after = 'events' in decision ? decision.events.reduce(evolve, before) : before;
    return desiredStateDue(before, after, command.metadata.now, settings.silenceMs);
  };

  it.each<[string, TwinCommand[], TwinCommand, boolean]>([
    ['a desired change for an online device', [connected(true, T0)], patch({ rate: 5 }, T0 + 1), true],
    ['a desired change for an offline device (sent now, and again when it returns)', [connected(false, T0)], patch({ rate: 5 }, T0 + 1), true],
    ['a device that returns while desired state is set', [patch({ rate: 5 }, T0), connected(false, T0 + 1)], connected(true, T0 + 2), true],
    ['a device that returns by telemetry after a silence', [patch({ rate: 5 }, T0), record(reading(1, T0, { t: 1 }))], record(reading(2, T0 + 120_000, { t: 2 })), true],
    ['a device that returns with no desired state', [connected(false, T0)], connected(true, T0 + 1), false],
    ['telemetry from a device that stayed online', [patch({ rate: 5 }, T0), record(reading(1, T0, { t: 1 }))], record(reading(2, T0 + 1000, { t: 2 })), false],
    ['a patch that changes nothing', [patch({ rate: 5 }, T0)], patch({ rate: 5 }, T0 + 1), false],
  ])('%s', (_name, history, command, expected) => {
    expect(due(given(...history).twin, command)).toBe(expected);
  });
});
