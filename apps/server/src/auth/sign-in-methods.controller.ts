import { Controller, Get, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { Public } from './access.decorator';
import { oidcSettings } from './oidc-settings';

export class OidcSignInDto {
  @ApiProperty({ description: 'the identity provider (OIDC_ISSUER): its discovery document is <issuer>/.well-known/openid-configuration', example: 'https://idp.example.com/realms/fleet' })
  issuer!: string;

  @ApiProperty({ description: "the console's public client at the provider (OIDC_CONSOLE_CLIENT_ID), whose redirect URI is <console origin>/signin-callback", example: 'fleetstream-console' })
  clientId!: string;

  @ApiProperty({ description: 'the scopes to ask for (OIDC_CONSOLE_SCOPE)', example: 'openid' })
  scope!: string;

  @ApiProperty({ description: 'the audience the service requires of access tokens (OIDC_AUDIENCE), sent as `audience` to providers that take it', example: 'fleetstream-api' })
  audience!: string;
}

export class SignInMethodsDto {
  @ApiProperty({ description: 'API keys are always accepted' })
  apiKey!: boolean;

  @ApiPropertyOptional({ type: OidcSignInDto, nullable: true, description: 'the authorization code + PKCE sign-in, when OIDC_CONSOLE_CLIENT_ID is set; null otherwise' })
  oidc!: OidcSignInDto | null;
}

/**
 * How a person may sign in to the console, asked before anyone is signed in. Nothing here is a
 * secret: the console's client is public (PKCE, no client secret), as the provider registers it.
 */
@ApiTags('auth')
@Controller('auth')
export class SignInMethodsController {
  private readonly methods: SignInMethodsDto;

  constructor(@Inject(fleetstreamConfig.KEY) config: AppConfig) {
    const oidc = oidcSettings(config);
    this.methods = {
      apiKey: true,
      oidc: oidc?.console ? { issuer: oidc.issuer, clientId: oidc.console.clientId, scope: oidc.console.scope, audience: oidc.audience } : null,
    };
  }

  @Get('sign-in-methods')
  @Public()
  @ApiOperation({ summary: 'How the console may sign people in: API keys, and OIDC (authorization code + PKCE) when configured', description: 'Public: asked before sign-in.' })
  @ApiOkResponse({ type: SignInMethodsDto })
  signInMethods(): SignInMethodsDto {
    return this.methods;
  }
}
