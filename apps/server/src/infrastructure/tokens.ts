/** Injection tokens of the edge adapters. */
export const KAFKA = Symbol('Kafka');
export const SCHEMA_REGISTRY = Symbol('SchemaRegistry');
export const TOPICS = Symbol('FleetTopics');
export const CLICKHOUSE = Symbol('ClickHouseTransport');
