import { Global, MiddlewareConsumer, Module, NestModule, RequestMethod } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { ThrottlerModule } from '@nestjs/throttler';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { ApiKeyStrategy } from './api-key.strategy';
import { ApiKeysReadModel } from './api-keys.read-model';
import { AuditMiddleware } from './audit.middleware';
import { CredentialsGuard } from './credentials.guard';
import { JsonContentTypeGuard } from './json-content-type.guard';
import { NoJwtStrategy, OidcJwtStrategy } from './jwt.strategy';
import { oidcSettings } from './oidc-settings';
import { RightsGuard } from './rights.guard';
import { StreamLimitInterceptor } from './stream-limit.interceptor';
import { SignInMethodsController } from './sign-in-methods.controller';
import { WhoAmIController } from './whoami.controller';
import { WriteThrottlerGuard } from './write-throttler.guard';

const JWT_STRATEGY_PROVIDER = Symbol('JwtStrategy');

/**
 * Identity and access: who calls (API keys, OIDC tokens), what their roles allow, how often they may
 * write, and an audit line per write. The guards run in this order: credential (401) and right (403)
 * on every route, then on write routes content type (415) and write rate (429).
 */
@Global()
@Module({
  imports: [
    PassportModule,
    ThrottlerModule.forRootAsync({
      inject: [fleetstreamConfig.KEY],
      useFactory: (config: AppConfig) => ({ throttlers: [{ ttl: 60_000, limit: config.WRITE_RATE_LIMIT }] }),
    }),
  ],
  controllers: [WhoAmIController, SignInMethodsController],
  providers: [
    ApiKeysReadModel,
    ApiKeyStrategy,
    {
      provide: JWT_STRATEGY_PROVIDER,
      inject: [fleetstreamConfig.KEY],
      useFactory: (config: AppConfig) => {
        const oidc = oidcSettings(config);
        return oidc ? new OidcJwtStrategy(oidc) : new NoJwtStrategy();
      },
    },
    StreamLimitInterceptor,
    { provide: APP_GUARD, useClass: CredentialsGuard },
    { provide: APP_GUARD, useClass: RightsGuard },
    // on write routes only, through @Access: JsonContentTypeGuard (415), WriteThrottlerGuard (429)
    JsonContentTypeGuard,
    WriteThrottlerGuard,
  ],
  exports: [ApiKeysReadModel, StreamLimitInterceptor],
})
export class AuthModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    // writes only: on every route, Nest's middleware layer costs reads about 8% of their throughput
    const writes = [RequestMethod.POST, RequestMethod.PUT, RequestMethod.PATCH, RequestMethod.DELETE].map((method) => ({ path: '*path', method }));
    consumer.apply(AuditMiddleware).forRoutes(...writes);
  }
}
