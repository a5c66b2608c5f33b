import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import type { Request } from 'express';
import { Strategy } from 'passport-custom';
import { ApiKeysReadModel } from './api-keys.read-model';
import { presentedCredential } from './credential';
import type { Principal } from './principal';

export const API_KEY_STRATEGY = 'api-key';

/** Passport strategy for API keys, from `Authorization: Bearer fsk_…` or `X-API-Key`. */
@Injectable()
export class ApiKeyStrategy extends PassportStrategy(Strategy, API_KEY_STRATEGY) {
  constructor(private readonly keys: ApiKeysReadModel) {
    super();
  }

  /** The principal, or [false, why] — passport's failure with a message the guard passes on. */
  validate(request: Request): Principal | [false, string] {
    const credential = presentedCredential(request.headers);
    if (credential.kind !== 'api-key') return [false, 'not an API key'];
    const check = this.keys.check(credential.value);
    return check.ok ? check.principal : [false, check.problem];
  }
}
