export * from './registry-codec';
export * from './schema-registration';
export * from './schema-files';
export * from './twin-snapshot';
export * from './twin-patch-outcome';
export * from './telemetry-reader';
export * from './command-records';
export * from './twin-command-reader';
