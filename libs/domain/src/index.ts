export * from './device/device-id';
export * from './telemetry/telemetry';
export * from './twin/twin.commands';
export * from './twin/twin.decider';
export * from './twin/twin.events';
export * from './command/command.commands';
export * from './command/command.decider';
export * from './command/command.events';
