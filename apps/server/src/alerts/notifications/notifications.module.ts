import { Logger, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AppConfig, fleetstreamConfig } from '../../infrastructure/fleetstream.config';
import { NotificationBacklog, NotificationMetrics, notificationMetricProviders } from './notification.metrics';
import { NOTIFICATION_SINKS } from './notification-sinks.token';
import { NotificationsHealth } from './notifications.health';
import { NotificationsProcessor } from './notifications.processor';
import { ConfiguredWebhookSinks } from './webhook-sinks';

/** Alert notifications: signed webhook deliveries of fleet.alerts, at least once, one consumer group per sink, dead letters after the last attempt. */
@Module({
  imports: [TerminusModule],
  providers: [
    {
      provide: NOTIFICATION_SINKS,
      inject: [fleetstreamConfig.KEY],
      useFactory: (config: AppConfig) =>
        new ConfiguredWebhookSinks(config.ALERT_WEBHOOKS, (name) =>
          new Logger('NotificationSinks').warn(`alarms name a webhook sink "${name}" that ALERT_WEBHOOKS no longer has: they go to the other sinks only`),
        ),
    },
    ...notificationMetricProviders,
    NotificationMetrics,
    NotificationBacklog,
    NotificationsProcessor,
    NotificationsHealth,
  ],
})
export class NotificationsModule {}
