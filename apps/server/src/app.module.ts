import { Module } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { AlertsModule } from './alerts/alerts.module';
import { NotificationsModule } from './alerts/notifications/notifications.module';
import { AlertRulesModule } from './alerts/rules/alert-rules.module';
import { AuthModule } from './auth/auth.module';
import { CommandsModule } from './commands/commands.module';
import { FleetModule } from './fleet/fleet.module';
import { HealthModule } from './health/health.module';
import { HistoryModule } from './history/history.module';
import { AppConfig, fleetstreamConfig } from './infrastructure/fleetstream.config';
import { InfrastructureModule } from './infrastructure/infrastructure.module';
import { MetricsModule } from './metrics/metrics.module';
import { SqlModule } from './sql/sql.module';
import { TwinsModule } from './twins/twins.module';

/** Probes and scrapes every few seconds would drown the request log. */
const QUIET_PATHS = new Set(['/health', '/ready', '/metrics']);

@Module({
  imports: [
    // one JSON object per line (pino): Nest's Logger calls and one line per HTTP request
    LoggerModule.forRootAsync({
      inject: [fleetstreamConfig.KEY],
      useFactory: (config: AppConfig) => ({
        pinoHttp: {
          level: config.LOG_LEVEL,
          autoLogging: { ignore: (request) => QUIET_PATHS.has(request.url?.split('?')[0] ?? '') },
          // credentials never reach a log line
          redact: { paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie', 'req.headers["x-clickhouse-key"]'], censor: '[redacted]' },
        },
      }),
    }),
    InfrastructureModule,
    MetricsModule,
    AuthModule,
    HealthModule,
    HistoryModule,
    FleetModule,
    TwinsModule,
    CommandsModule,
    SqlModule,
    AlertRulesModule,
    AlertsModule,
    NotificationsModule,
  ],
})
export class AppModule {}
