/** Injection token of the NotificationSinks (global ones from ALERT_WEBHOOKS; per-rule ones later). */
export const NOTIFICATION_SINKS = Symbol('NotificationSinks');
