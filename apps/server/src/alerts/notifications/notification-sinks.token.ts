/** Injection token of the NotificationSinks (ALERT_WEBHOOKS: global sinks and those rules name). */
export const NOTIFICATION_SINKS = Symbol('NotificationSinks');
