/** Injection tokens of the edge adapters. */
export const KAFKA = Symbol('Kafka');
/** The Confluent client: the processors' consumer groups and transactions. */
export const CONFLUENT_KAFKA = Symbol('ConfluentKafka');
export const SCHEMA_REGISTRY = Symbol('SchemaRegistry');
export const TOPICS = Symbol('FleetTopics');
export const CLICKHOUSE = Symbol('ClickHouseTransport');
