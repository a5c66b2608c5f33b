import { Right, RIGHTS, rightsOf, Role, ROLES } from '@fleetstream/domain';
import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { Access } from './access.decorator';
import { Caller, Principal } from './principal';

export class WhoAmIDto {
  @ApiProperty({ description: 'who the service says is calling, as audit records name it', example: 'key:alice' })
  actor!: string;

  @ApiProperty({ description: 'how the caller signed in', enum: ['api-key', 'oidc'] })
  kind!: Principal['kind'];

  @ApiProperty({ description: "the caller's roles (an API key has one; a token has those of its roles claim)", enum: ROLES, isArray: true, example: ['viewer'] })
  roles!: Role[];

  @ApiProperty({
    description: 'every right those roles hold: what a client may offer. The server still checks the right on each request',
    enum: Object.keys(RIGHTS),
    isArray: true,
    example: ['twins:read', 'history:read', 'commands:read', 'alert-rules:read', 'alerts:read', 'identity:read'],
  })
  rights!: Right[];
}

/** Who the caller is and what its roles allow, so a client (the console) can show only what it may do. */
@ApiTags('auth')
@Controller('auth')
export class WhoAmIController {
  @Get('whoami')
  @Access('identity:read')
  @ApiOperation({
    summary: "The caller's identity, roles and rights",
    description: 'Any role may ask. Never carries key material or token claims beyond the subject.',
  })
  @ApiOkResponse({ type: WhoAmIDto })
  whoami(@Caller() caller: Principal): WhoAmIDto {
    return { actor: caller.actor, kind: caller.kind, roles: caller.roles, rights: rightsOf(caller.roles) };
  }
}
