import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { AppConfig, fleetstreamConfig } from '../../infrastructure/fleetstream.config';
import { NotificationBacklog, NotificationMetrics, notificationMetricProviders } from './notification.metrics';
import { NOTIFICATION_SINKS } from './notification-sinks.token';
import { NotificationsHealth } from './notifications.health';
import { NotificationsProcessor } from './notifications.processor';
import { GlobalWebhookSinks } from './webhook-sinks';

/** Alert notifications: signed webhook deliveries of fleet.alerts, at least once, one consumer group per sink, dead letters after the last attempt. */
@Module({
  imports: [TerminusModule],
  providers: [
    { provide: NOTIFICATION_SINKS, inject: [fleetstreamConfig.KEY], useFactory: (config: AppConfig) => new GlobalWebhookSinks(config.ALERT_WEBHOOKS) },
    ...notificationMetricProviders,
    NotificationMetrics,
    NotificationBacklog,
    NotificationsProcessor,
    NotificationsHealth,
  ],
})
export class NotificationsModule {}
