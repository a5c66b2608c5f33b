import type { Request, Response } from 'express';
import { auditLine } from './audit.middleware';

/** The parts of a finished request that the audit line reads. */
function finished(path: string, routePath: string, params: Record<string, string>, status: number, location?: string): [Request, Response] {
  const request = { method: 'POST', baseUrl: '', path, route: { path: routePath }, params } as unknown as Request;
  const response = { statusCode: status, getHeader: (name: string) => (name === 'location' ? location : undefined) } as unknown as Response;
  return [request, response];
}

describe('the audit line of a write', () => {
  it('names the alarm an acknowledgment was for, and its device and rule', () => {
    const alarmId = '0b5e5a57-8c8e-4c55-a1c4-6c4d8a1f2f10:plant:7:pump-2:3';
    expect(auditLine(...finished(`/alerts/${alarmId}/acknowledge`, '/alerts/:id/acknowledge', { id: alarmId }, 200))).toMatchObject({
      route: '/alerts/:id/acknowledge',
      alarmId,
      deviceId: 'plant:7:pump-2',
      ruleId: '0b5e5a57-8c8e-4c55-a1c4-6c4d8a1f2f10',
      outcome: 'allowed',
    });
  });

  it('keeps the id of an acknowledgment that named no alarm, with no device or rule', () => {
    expect(auditLine(...finished('/alerts/nonsense/acknowledge', '/alerts/:id/acknowledge', { id: 'nonsense' }, 404))).toMatchObject({ alarmId: 'nonsense', deviceId: null, ruleId: null, outcome: 'failed' });
  });

  it('names no alarm for other writes', () => {
    expect(auditLine(...finished('/alert-rules/r1', '/alert-rules/:id', { id: 'r1' }, 200))).toMatchObject({ ruleId: 'r1', alarmId: null, deviceId: null });
    expect(auditLine(...finished('/devices/pump-1/commands', '/devices/:deviceId/commands', { deviceId: 'pump-1' }, 201, '/commands/c1'))).toMatchObject({ deviceId: 'pump-1', commandId: 'c1', alarmId: null });
  });
});
