export * from './telemetry/telemetry';
export * from './twin/twin.commands';
export * from './twin/twin.decider';
export * from './twin/twin.events';
