import type { Role } from '@fleetstream/domain';
import { createParamDecorator, ExecutionContext } from '@nestjs/common';

/** Who is calling, as the credential guard established it (passport puts it on `request.user`). */
export interface Principal {
  /** What audit records and logs name: `key:<name>` for an API key, `oidc:<subject>` for a token. */
  actor: string;
  kind: 'api-key' | 'oidc';
  roles: Role[];
}

export function principalOf(request: { user?: unknown }): Principal | undefined {
  return request.user as Principal | undefined;
}

/** The calling principal, on a route that is not public. */
export const Caller = createParamDecorator((_data: unknown, context: ExecutionContext): Principal => {
  const principal = principalOf(context.switchToHttp().getRequest());
  if (!principal) throw new Error('@Caller() on a route without a principal: is the route @Public()?');
  return principal;
});

/** The calling principal's actor name, for the audit fields of the events a write causes. */
export const Actor = createParamDecorator((_data: unknown, context: ExecutionContext): string => {
  const principal = principalOf(context.switchToHttp().getRequest());
  // the credential guard ran first on every non-public route; a route that reads the actor is never public
  if (!principal) throw new Error('@Actor() on a route without a principal: is the route @Public()?');
  return principal.actor;
});
