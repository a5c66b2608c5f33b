import type { Telemetry } from '../telemetry/telemetry';
import { specFor } from '../testing/given-when-then';
import type { JsonObject, TwinCommand } from './twin.commands';
import { connectivityAt, decide, delta, desiredStateDue, evolve, initialTwin, rejectionReason, twinDecider, TwinSettings } from './twin.decider';
import type { ConnectivitySource, TwinEvent, TwinRejection } from './twin.events';

const settings: TwinSettings = { silenceMs: 60_000, maxPatchBytes: 1024, maxDesiredBytes: 2048, maxReportedFields: 5 };
const T0 = Date.UTC(2026, 10, 23, 12, 0, 0);
const reading = (seq: number, eventTime: number, metrics: Record<string, number>, attributes: Record<string, string> = {}): Telemetry => ({
  deviceId: 'dev-1', eventTime, seq, metrics, attributes,
});

// the commands
const record = (data: Telemetry, now = data.eventTime): TwinCommand => ({ type: 'RecordTelemetry', data, metadata: { now } });
const patch = (body: Record<string, unknown>, options: { expectedVersion?: number; actor?: string | null; now?: number } = {}): TwinCommand => ({
  type: 'PatchDesired',
  data: { deviceId: 'dev-1', patch: body as JsonObject, expectedVersion: options.expectedVersion, actor: options.actor },
  metadata: { now: options.now ?? T0, requestId: `r-${options.now ?? T0}` },
});
const remove = (now: number, actor?: string): TwinCommand => ({ type: 'RemoveDevice', data: { deviceId: 'dev-1', actor }, metadata: { now } });
const gatewayReports = (online: boolean, now: number): TwinCommand => ({ type: 'ReportConnectivity', data: { deviceId: 'dev-1', online }, metadata: { now } });
const checkSilence = (now: number): TwinCommand => ({ type: 'CheckSilence', data: { deviceId: 'dev-1' }, metadata: { now } });

// the events
const reported = (data: Telemetry, at = data.eventTime): TwinEvent => ({ type: 'TelemetryReported', data, metadata: { at } });
const connected = (source: ConnectivitySource, at: number): TwinEvent => ({ type: 'DeviceConnected', data: { deviceId: 'dev-1', source }, metadata: { at } });
const disconnected = (source: ConnectivitySource, at: number): TwinEvent => ({ type: 'DeviceDisconnected', data: { deviceId: 'dev-1', source }, metadata: { at } });
const patched = (body: JsonObject, at = T0, actor: string | null = null): TwinEvent => ({ type: 'DesiredPatched', data: { deviceId: 'dev-1', patch: body, actor }, metadata: { at, requestId: `r-${at}` } });
const removed = (at: number, actor: string | null = null): TwinEvent => ({ type: 'DeviceRemoved', data: { deviceId: 'dev-1', actor }, metadata: { at } });
/** A first reading: reported, and online by its telemetry. */
const firstHeard = (data: Telemetry): TwinEvent[] => [reported(data), connected('telemetry', data.eventTime)];

const given = specFor(twinDecider(settings, 'dev-1'));

describe('twin decider', () => {
  describe('when a new device reports', () => {
    it('records the reading and marks the device online from its telemetry', () => {
      const first = reading(1, T0, { temperature: 21 }, { firmware: '1.0' });
      const twin = given().when(record(first)).then([reported(first), connected('telemetry', T0)]);
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
    it('keeps the newer value of each field and fills fields it did not have', () => {
      const late = reading(1, T0, { temperature: 21, battery: 90 });
      const twin = given(...firstHeard(reading(2, T0 + 1000, { temperature: 22 }))).when(record(late)).then([reported(late)]);
      expect(twin.reported.temperature).toEqual({ value: 22, at: T0 + 1000 });
      expect(twin.reported.battery).toEqual({ value: 90, at: T0 });
      expect(twin.lastSeen).toBe(T0 + 1000);
      expect(twin.firstSeen).toBe(T0);
    });
  });

  describe('when the same reading is delivered twice', () => {
    const first = reading(1, T0, { temperature: 21 });
    it('decides nothing the second time, so the version does not move', () => {
      expect(given(...firstHeard(first)).when(record(first)).then([]).version).toBe(2);
    });
    it('decides nothing for an older duplicate either', () => {
      given(...firstHeard(first), reported(reading(2, T0 + 1000, { temperature: 22 }))).when(record(first)).then([]);
    });
  });

  describe('when two readings share an event time and the older one is delivered again', () => {
    const older = reading(1, T0, { temperature: 21 });
    const newer = reading(2, T0, { temperature: 22 });
    it('keeps the higher seq and decides nothing, so a replay leaves the twin as it was', () => {
      const twin = given(...firstHeard(older), reported(newer)).when(record(older)).then([]);
      expect(twin.reported.temperature).toEqual({ value: 22, at: T0 });
    });
    it('lets the higher seq win whichever arrives first', () => {
      expect(given(...firstHeard(newer)).when(record(older)).then([]).reported.temperature).toEqual({ value: 22, at: T0 });
    });
  });

  describe('when operators patch desired state', () => {
    const setpointReported = firstHeard(reading(1, T0, { setpoint: 20 }));

    it('merges the patch (null deletes) and reports the delta', () => {
      const twin = given(...setpointReported, patched({ setpoint: 22, mode: 'eco', fan: 1 })).when(patch({ fan: null })).then([patched({ fan: null })]);
      expect(twin.desired).toEqual({ setpoint: 22, mode: 'eco' });
      expect(delta(twin)).toEqual({ setpoint: 22, mode: 'eco' });
    });
    it('has no delta once the device reports the desired value', () => {
      const update = reading(2, T0 + 1, { setpoint: 22 });
      expect(delta(given(patched({ setpoint: 22 })).when(record(update)).then([reported(update), connected('telemetry', T0 + 1)]))).toEqual({});
    });
    it('refuses a stale expected version', () => {
      const stale = given(...setpointReported).when(patch({ setpoint: 22 }, { expectedVersion: 1 }));
      stale.thenRejects({ type: 'VersionConflict', expectedVersion: 1, actualVersion: 2 });
      expect(rejectionReason({ type: 'VersionConflict', expectedVersion: 1, actualVersion: 2 })).toEqual({
        reason: 'patch-version-conflict',
        error: 'the twin is at version 2, not 1 (If-Match); read it again and retry',
      });
    });
    it('accepts the current expected version', () => {
      given(...setpointReported).when(patch({ setpoint: 22 }, { expectedVersion: 2 })).then([patched({ setpoint: 22 })]);
    });
    it.each([
      ['an array', ['a']],
      ['a patch over the size limit', { blob: 'x'.repeat(2000) }],
    ])('refuses %s', (_name, body) => {
      given(...setpointReported).when(patch(body as never)).thenRejects({ type: 'InvalidPatch' });
      expect(rejectionReason({ type: 'InvalidPatch', reason: 'any' }).reason).toBe('invalid-patch');
    });
    it('decides nothing for a patch that changes nothing', () => {
      given(patched({ mode: 'eco' })).when(patch({ mode: 'eco' })).then([]);
    });
  });

  describe('when someone changes desired state', () => {
    const history = [...firstHeard(reading(1, T0, { t: 1 })), patched({ rate: 5 }, T0 + 1, 'key:ops-bot')];

    it('records who on the DesiredPatched event, and the twin keeps who and when', () => {
      const twin = given(...history).when(patch({ rate: 6 }, { actor: 'jwt:alice@example.com', now: T0 + 2 })).then([patched({ rate: 6 }, T0 + 2, 'jwt:alice@example.com')]);
      expect(twin).toMatchObject({ desiredChangedBy: 'jwt:alice@example.com', desiredChangedAt: T0 + 2 });
    });
    it('keeps the last one who changed it when a patch changes nothing', () => {
      expect(given(...history).when(patch({ rate: 5 }, { actor: 'jwt:alice@example.com', now: T0 + 2 })).then([])).toMatchObject({ desiredChangedBy: 'key:ops-bot', desiredChangedAt: T0 + 1 });
    });
    it('keeps it through telemetry and connectivity', () => {
      const later = reading(2, T0 + 4, { rate: 5 });
      const twin = given(...history, disconnected('gateway', T0 + 3)).when(record(later)).then([reported(later)]);
      expect(twin).toMatchObject({ desiredChangedBy: 'key:ops-bot', desiredChangedAt: T0 + 1 });
    });
    it('knows nobody when the patch names nobody (a record from before callers were audited)', () => {
      const twin = given(...history).when(patch({ rate: 7 }, { now: T0 + 2 })).then([patched({ rate: 7 }, T0 + 2, null)]);
      expect(twin).toMatchObject({ desiredChangedBy: null, desiredChangedAt: T0 + 2 });
    });
    it('has nobody and no time on a twin whose desired state was never set', () => {
      expect(given(...firstHeard(reading(1, T0, { t: 1 }))).state).toMatchObject({ desiredChangedBy: null, desiredChangedAt: null });
    });
    it('records who removed the device, and a twin started afresh forgets who changed its desired state', () => {
      given(...history).when(remove(T0 + 5, 'key:admin')).then([removed(T0 + 5, 'key:admin')]);
      const again = reading(2, T0 + 6, { t: 2 });
      const twin = given(...history, removed(T0 + 5, 'key:admin')).when(record(again)).then([reported(again), connected('telemetry', T0 + 6)]);
      expect(twin).toMatchObject({ desiredChangedBy: null, desiredChangedAt: null, desired: {} });
    });
  });

  describe('when a patch would make desired state larger than the cap', () => {
    const nearlyFull = [patched({ a: 'x'.repeat(900) }), patched({ b: 'x'.repeat(900) })];

    it('refuses it as desired-too-large, naming the merged size and the cap', () => {
      const bytes = JSON.stringify({ a: 'x'.repeat(900), b: 'x'.repeat(900) }).length + JSON.stringify({ c: 'x'.repeat(900) }).length - 1;
      given(...nearlyFull).when(patch({ c: 'x'.repeat(900) })).thenRejects({
        type: 'DesiredTooLarge',
        reason: 'desired-too-large',
        limit: 2048,
        bytes,
        error: `desired state would be ${bytes} bytes of JSON after this patch; the limit is 2048 (TWIN_MAX_DESIRED_BYTES): remove keys (null) or send less`,
      });
    });
    it('answers the refusal with its own reason and error', () => {
      const rejection: TwinRejection = { type: 'DesiredTooLarge', reason: 'desired-too-large', error: 'too big', bytes: 3000, limit: 2048 };
      expect(rejectionReason(rejection)).toEqual({ reason: 'desired-too-large', error: 'too big' });
    });
    it('counts UTF-8 bytes, not characters', () => {
      given(...nearlyFull).when(patch({ c: 'é'.repeat(150) })).thenRejects({ type: 'DesiredTooLarge' });
    });
    it('accepts a patch that replaces a key and stays within the cap', () => {
      given(...nearlyFull).when(patch({ a: 'y'.repeat(900) })).then([patched({ a: 'y'.repeat(900) })]);
    });
    it('lets a twin already over a lowered cap shrink', () => {
      const lowered = specFor(twinDecider({ ...settings, maxDesiredBytes: 100 }, 'dev-1'));
      lowered(...nearlyFull).when(patch({ a: null })).then([patched({ a: null })]);
      lowered(...nearlyFull).when(patch({ c: 1 })).thenRejects({ type: 'DesiredTooLarge' });
    });
  });

  describe('when a reading would give the twin more reported fields than the cap', () => {
    const full = firstHeard(reading(1, T0, { m1: 1, m2: 2, m3: 3 }, { a1: 'x', a2: 'y' }));

    it('refuses it as twin-too-large, naming the count and the cap', () => {
      const twin = given(...full);
      const refused = twin.when(record(reading(2, T0 + 1, { m4: 4 })));
      refused.thenRejects({ type: 'TwinTooLarge', reason: 'twin-too-large', fields: 6, limit: 5 });
      expect(refused.stateAfter).toBe(twin.state);
    });
    it('accepts new values of the fields it has', () => {
      const update = reading(2, T0 + 1, { m1: 10, m2: 20 }, { a1: 'z' });
      expect(given(...full).when(record(update)).then([reported(update)]).reported.m1).toEqual({ value: 10, at: T0 + 1 });
    });
    it('counts a name used as a metric and as an attribute once', () => {
      const first = reading(1, T0, { a: 1, b: 2, c: 3, d: 4, e: 5 }, { a: 'x' });
      given().when(record(first)).then(firstHeard(first));
    });
    it('refuses a first reading that alone is past the cap', () => {
      given().when(record(reading(1, T0, { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 }))).thenRejects({ type: 'TwinTooLarge', fields: 6 });
    });
    it('counts from nothing after the device was removed', () => {
      const again = reading(2, T0 + 2, { n1: 1, n2: 2, n3: 3 });
      const twin = given(...firstHeard(reading(1, T0, { m1: 1, m2: 2, m3: 3, m4: 4, m5: 5 })), removed(T0 + 1)).when(record(again)).then(firstHeard(again));
      expect(twin.reported).toEqual({ n1: { value: 1, at: T0 + 2 }, n2: { value: 2, at: T0 + 2 }, n3: { value: 3, at: T0 + 2 } });
    });
  });

  describe('when the device falls silent', () => {
    const heard = firstHeard(reading(1, T0, { t: 1 }));
    it('stays online within the silence window', () => {
      given(...heard).when(checkSilence(T0 + 59_000)).then([]);
    });
    it('goes offline after it', () => {
      const twin = given(...heard).when(checkSilence(T0 + 60_000)).then([disconnected('silence', T0 + 60_000)]);
      expect(twin.connectivity).toEqual({ online: false, since: T0 + 60_000, source: 'silence' });
    });
    it('comes back online with its next reading', () => {
      const next = reading(2, T0 + 61_000, { t: 2 });
      const twin = given(...heard, disconnected('silence', T0 + 60_000)).when(record(next)).then([reported(next), connected('telemetry', T0 + 61_000)]);
      expect(twin.connectivity).toMatchObject({ online: true, source: 'telemetry' });
    });
  });

  describe('when the twin is read after a silence', () => {
    it('shows the device offline from the end of the window, before any check recorded it', () => {
      const { state: twin } = given(...firstHeard(reading(1, T0, { t: 1 })));
      expect(connectivityAt(twin, T0 + 59_000, settings.silenceMs)).toMatchObject({ online: true, source: 'telemetry' });
      expect(connectivityAt(twin, T0 + 90_000, settings.silenceMs)).toEqual({ online: false, since: T0 + 60_000, source: 'silence' });
    });
  });

  describe('when a gateway reports connectivity', () => {
    it('records it', () => {
      given(...firstHeard(reading(1, T0, { t: 1 }))).when(gatewayReports(false, T0 + 5)).then([disconnected('gateway', T0 + 5)]);
    });
    it('its word wins over telemetry and silence', () => {
      const next = reading(2, T0 + 10, { t: 2 });
      const twin = given(...firstHeard(reading(1, T0, { t: 1 })), disconnected('gateway', T0 + 5)).when(record(next)).then([reported(next)]);
      expect(twin.connectivity).toEqual({ online: false, since: T0 + 5, source: 'gateway' });
    });
  });

  describe('when the device is removed', () => {
    const heard = firstHeard(reading(1, T0, { t: 1 }));
    it('leaves an empty, removed twin', () => {
      expect(given(...heard).when(remove(T0)).then([removed(T0)])).toMatchObject({ removed: true, reported: {}, version: 3 });
    });
    it('starts it afresh with a new reading', () => {
      const next = reading(2, T0 + 1, { t: 2 });
      expect(given(...heard, removed(T0)).when(record(next)).then(firstHeard(next))).toMatchObject({ removed: false, reported: { t: { value: 2 } }, version: 5 });
    });
    it('refuses to remove a device it never saw', () => {
      given().when(remove(T0)).thenRejects({ type: 'UnknownDevice', deviceId: 'dev-1' });
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
  const due = (history: TwinEvent[], command: TwinCommand) => {
    const when = given(...history).when(command);
    return desiredStateDue(given(...history).state, when.stateAfter, command.metadata.now, settings.silenceMs);
  };

  it.each<[string, TwinEvent[], TwinCommand, boolean]>([
    ['a desired change for an online device', [connected('gateway', T0)], patch({ rate: 5 }, { now: T0 + 1 }), true],
    ['a desired change for an offline device (sent now, and again when it returns)', [disconnected('gateway', T0)], patch({ rate: 5 }, { now: T0 + 1 }), true],
    ['a device that returns while desired state is set', [patched({ rate: 5 }), disconnected('gateway', T0 + 1)], gatewayReports(true, T0 + 2), true],
    ['a device that returns by telemetry after a silence', [patched({ rate: 5 }), ...firstHeard(reading(1, T0, { t: 1 }))], record(reading(2, T0 + 120_000, { t: 2 })), true],
    ['a device that returns with no desired state', [disconnected('gateway', T0)], gatewayReports(true, T0 + 1), false],
    ['telemetry from a device that stayed online', [patched({ rate: 5 }), ...firstHeard(reading(1, T0, { t: 1 }))], record(reading(2, T0 + 1000, { t: 2 })), false],
    ['a patch that changes nothing', [patched({ rate: 5 })], patch({ rate: 5 }, { now: T0 + 1 }), false],
  ])('%s', (_name, history, command, expected) => {
    expect(due(history, command)).toBe(expected);
  });
});
