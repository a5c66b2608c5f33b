import 'reflect-metadata';
import { loadConfig } from '@fleetstream/config';
import { Logger, ValidationPipe } from '@nestjs/common';
import { Logger as PinoLogger } from 'nestjs-pino';
import { NestFactory } from '@nestjs/core';
import { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import helmet from 'helmet';
import { AppModule } from './app.module';
import { API_KEY_SCHEME, BEARER_SCHEME } from './auth/access.decorator';
import { oidcSettings } from './auth/oidc-settings';
import { MethodNotAllowedFilter, RouteLayer } from './common/method-not-allowed.filter';
import { ConsoleFallbackFilter, serveConsole } from './console/console-assets';
import { AppConfig, fleetstreamConfig } from './infrastructure/fleetstream.config';

/** Builds the HTTP app with validation and the OpenAPI document; shared by main and the e2e tests. */
export async function createApp() {
  // logs are buffered until the JSON logger is in place, so even the first lines are structured
  const app = await NestFactory.create<NestExpressApplication>(AppModule, { bufferLogs: true });
  app.useLogger(app.get(PinoLogger));
  const config = app.get<AppConfig>(fleetstreamConfig.KEY);
  // the console's OIDC sign-in fetches the provider's discovery document and token endpoint: its origin joins connect-src
  const oidc = oidcSettings(config);
  const consoleProvider = oidc?.console ? new URL(oidc.issuer).origin : undefined;
  app.use(helmet(consoleProvider ? { contentSecurityPolicy: { directives: { connectSrc: ["'self'", consoleProvider] } } } : {}));
  // browsers may call the API cross-origin only from the configured origins; CORS stays off otherwise
  if (config.CORS_ORIGINS.length > 0) app.enableCors({ origin: config.CORS_ORIGINS, allowedHeaders: ['Authorization', 'X-API-Key', 'Content-Type', 'If-Match', 'If-None-Match', 'Idempotency-Key', 'Last-Event-ID'], exposedHeaders: ['ETag', 'Location', 'Retry-After'] });
  // desired-state patches arrive as application/merge-patch+json (RFC 7386)
  app.useBodyParser('json', { type: ['application/json', 'application/merge-patch+json'], limit: '256kb' });
  app.useGlobalPipes(new ValidationPipe({ transform: true, whitelist: true, forbidNonWhitelisted: true }));
  // a known path asked with a method it does not serve: 405 with Allow, not Nest's 404
  const express = app.getHttpAdapter().getInstance() as unknown as { router: { stack: RouteLayer[] } };
  const routes = () => express.router.stack;
  // the console (apps/console) at /: its static files, and its index.html for the client's routes
  const consoleIndex = serveConsole(app, config.CONSOLE_DIR);
  if (!consoleIndex) new Logger('fleetstream').warn(`no console at /: ${config.CONSOLE_DIR} holds no index.html (npm run build makes it)`);
  app.useGlobalFilters(consoleIndex ? new ConsoleFallbackFilter(consoleIndex, routes, app.getHttpAdapter()) : new MethodNotAllowedFilter(routes, app.getHttpAdapter()));
  app.enableShutdownHooks();
  const openApi = new DocumentBuilder()
    .setTitle('fleetstream')
    .setDescription('Device telemetry history, twins and commands on Kafka')
    .setVersion('0.1.0')
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'an API key (fsk_…) or an OIDC access token (JWT)' }, BEARER_SCHEME)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key', description: 'an API key (fsk_…)' }, API_KEY_SCHEME)
    .build();
  SwaggerModule.setup('docs', app, () => SwaggerModule.createDocument(app, openApi), { jsonDocumentUrl: 'docs/openapi.json' });
  return app;
}

async function bootstrap(): Promise<void> {
  const config = loadConfig(); // fail before Nest starts, with every bad variable named
  const app = await createApp();
  await app.listen(config.HTTP_PORT, config.HTTP_HOST);
  new Logger('fleetstream').log(`listening on http://${config.HTTP_HOST}:${config.HTTP_PORT} (OpenAPI at /docs)`);
}

if (require.main === module) {
  bootstrap().catch((error: unknown) => {
    console.error(`fleetstream failed to start: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  });
}
