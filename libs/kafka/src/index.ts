export * from './batch-consumer';
export * from './dead-letter.producer';
export * from './kafka-client';
export * from './topic-admin';
export * from './topics';
export * from './telemetry.producer';
export * from './compacted-topic-view';
export * from './key-value-store';
