export * from './telemetry/telemetry';
