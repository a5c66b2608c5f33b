import type { AlertEventRecord } from '@fleetstream/serde';
import { createHmac } from 'node:crypto';
import { idempotencyKey, notificationBody, signatureOf } from './webhook-delivery';
import { sinkIdOf } from './webhook-sinks';

const raised: AlertEventRecord = {
  type: 'RAISED', alarmId: 'a-1', ruleId: 'r-1', ruleName: 'overheat', severity: 'major', deviceId: 'dev-1', at: Date.UTC(2026, 0, 1, 12),
  metric: 'temperature', value: 81.5, readingEventTime: Date.UTC(2026, 0, 1, 11, 59, 59), readingSeq: 7, reason: null, actor: null, note: null, notify: [],
};

describe('a webhook delivery', () => {
  it('has a key per alarm and event type, the same on every attempt', () => {
    expect(idempotencyKey(raised)).toBe('a-1:raised');
    expect(idempotencyKey({ ...raised, type: 'CLEARED' })).toBe('a-1:cleared');
  });

  it('carries the event as JSON with ISO times', () => {
    expect(JSON.parse(notificationBody(raised))).toEqual({
      id: 'a-1:raised', type: 'AlertRaised', alarmId: 'a-1', ruleId: 'r-1', ruleName: 'overheat', severity: 'major', deviceId: 'dev-1',
      at: '2026-01-01T12:00:00.000Z', metric: 'temperature', value: 81.5, readingEventTime: '2026-01-01T11:59:59.000Z', readingSeq: 7,
      reason: null, actor: null, note: null,
    });
  });

  it('is signed over the timestamp and the body, so neither can be changed', () => {
    const body = notificationBody(raised);
    const expected = `sha256=${createHmac('sha256', 'a-secret-of-16-chars').update(`1767268800.${body}`).digest('hex')}`;
    expect(signatureOf('a-secret-of-16-chars', 1767268800, body)).toBe(expected);
    expect(signatureOf('a-secret-of-16-chars', 1767268801, body)).not.toBe(expected);
  });
});

describe('a sink id', () => {
  it('is stable for a URL and does not show it', () => {
    expect(sinkIdOf('https://hooks.example.com/x?token=abc')).toBe(sinkIdOf('https://hooks.example.com/x?token=abc'));
    expect(sinkIdOf('https://hooks.example.com/x?token=abc')).toMatch(/^[0-9a-f]{16}$/);
    expect(sinkIdOf('https://hooks.example.com/y')).not.toBe(sinkIdOf('https://hooks.example.com/x?token=abc'));
  });
});
