import { mayExercise, Right, rolesFor } from '@fleetstream/domain';
import { CanActivate, ExecutionContext, ForbiddenException, HttpStatus, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ACCESS_RIGHT, PUBLIC_ROUTE, rolesSentence } from './access.decorator';
import { principalOf } from './principal';

/**
 * The principal's roles must hold the route's right (403 otherwise). A route that declares no right is
 * refused to everybody: a new route is closed until someone decides who may call it.
 */
@Injectable()
export class RightsGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_ROUTE, targets)) return true;
    const right = this.reflector.getAllAndOverride<Right | undefined>(ACCESS_RIGHT, targets);
    const principal = principalOf(context.switchToHttp().getRequest());
    if (right !== undefined && principal && mayExercise(principal.roles, right)) return true;
    throw new ForbiddenException({
      statusCode: HttpStatus.FORBIDDEN,
      error: 'Forbidden',
      message:
        right === undefined
          ? 'this route declares no access right, so nobody may call it'
          : `${principal?.actor ?? 'the caller'} (roles: ${principal?.roles.join(', ') || 'none'}) may not do this; it needs the role ${rolesSentence(right)}`,
      requiredRoles: right === undefined ? [] : rolesFor(right),
    });
  }
}
