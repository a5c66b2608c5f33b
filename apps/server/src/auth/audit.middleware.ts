import { alarmPartsOf } from '@fleetstream/domain';
import { Injectable, NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, Response } from 'express';
import { PinoLogger } from 'nestjs-pino';
import { principalOf } from './principal';

/** One JSON audit line per write request: who, which route, which device, command, alert rule or alarm, and the outcome. */
export interface AuditLine {
  audit: true;
  actor: string | null;
  method: string;
  route: string;
  deviceId: string | null;
  commandId: string | null;
  ruleId: string | null;
  alarmId: string | null;
  status: number;
  outcome: 'allowed' | 'denied' | 'failed';
}

/**
 * Written when the response is finished, so refusals by the guards (401, 403, 415, 429) are audited
 * as well as the writes that went through; credentials are never in it (they are in headers only).
 */
@Injectable()
export class AuditMiddleware implements NestMiddleware {
  constructor(private readonly logger: PinoLogger) {
    logger.setContext('audit');
  }

  /** Mounted for the write methods only (AuthModule), so every request here is a write. */
  use(request: Request, response: Response, next: NextFunction): void {
    response.on('finish', () => this.logger.info(auditLine(request, response), 'audit'));
    next();
  }
}

export function auditLine(request: Request, response: Response): AuditLine {
  const params = (request.params ?? {}) as Record<string, string | undefined>;
  // a new command's or rule's id is only in the Location the controller set
  const location = String(response.getHeader('location') ?? '');
  const newCommand = /^\/commands\/([^/]+)$/.exec(location);
  const newRule = /^\/alert-rules\/([^/]+)$/.exec(location);
  const route = request.route?.path ? `${request.baseUrl}${request.route.path}` : request.path;
  const status = response.statusCode;
  // an acknowledgment names the alarm, and through it the device and rule
  const alarmId = route.startsWith('/alerts/') ? (params.id ?? null) : null;
  const alarm = alarmId === null ? undefined : alarmPartsOf(alarmId);
  return {
    audit: true,
    actor: principalOf(request)?.actor ?? null,
    method: request.method,
    route,
    deviceId: params.deviceId ?? alarm?.deviceId ?? null,
    commandId: params.commandId ?? (newCommand ? decodeURIComponent(newCommand[1]!) : null),
    ruleId: (route.startsWith('/alert-rules/') ? params.id : undefined) ?? alarm?.ruleId ?? (newRule ? decodeURIComponent(newRule[1]!) : null),
    alarmId,
    status,
    outcome: status === 401 || status === 403 || status === 415 || status === 429 ? 'denied' : status >= 400 ? 'failed' : 'allowed',
  };
}
