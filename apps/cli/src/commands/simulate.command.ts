import { loadConfig } from '@fleetstream/config';
import type { Telemetry } from '@fleetstream/domain';
import { createKafka, ensureTopics, fleetTopicDefinitions, fleetTopics, TelemetryProducer } from '@fleetstream/kafka';
import { readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Command, InvalidArgumentError } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { SimulatedFleet, simulatedDeviceId } from './simulated-fleet';

const TICK_MS = 100;

export function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError(`expected a whole number ≥ 1, got "${value}"`);
  return parsed;
}

export const simulateCommand = new Command('simulate')
  .description('publish Avro telemetry from a simulated fleet (Confluent wire format, key = device id)')
  .option('-d, --devices <n>', 'devices in the fleet', positiveInt, 100)
  .option('-r, --rate <n>', 'readings per second, whole fleet', positiveInt, 100)
  .option('--duration <seconds>', 'stop after this many seconds (default: until Ctrl-C)', positiveInt)
  .option('--count <n>', 'stop after this many readings', positiveInt)
  .action(async (options: { devices: number; rate: number; duration?: number; count?: number }) => {
    const config = loadConfig();
    const topics = fleetTopics(config.TOPIC_PREFIX);
    const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: `${config.KAFKA_CLIENT_ID}-simulator` });
    await ensureTopics(kafka, fleetTopicDefinitions(topics, config.TELEMETRY_PARTITIONS));
    const codec = new RegistryCodec<Telemetry>(new SchemaRegistry({ host: config.SCHEMA_REGISTRY_URL }), readAvroSchema('telemetry'));
    const producer = new TelemetryProducer(kafka, codec, topics.telemetry);
    const schemaId = await producer.connect();
    const fleet = new SimulatedFleet(options.devices);
    console.log(
      `simulating ${options.devices} devices (${simulatedDeviceId(0)} … ${simulatedDeviceId(options.devices - 1)}) at ${options.rate}/s into ${topics.telemetry}, schema id ${schemaId}`,
    );
    let stopped = false;
    process.once('SIGINT', () => (stopped = true));
    process.once('SIGTERM', () => (stopped = true));
    const started = Date.now();
    const deadline = options.duration ? started + options.duration * 1000 : Number.POSITIVE_INFINITY;
    const limit = options.count ?? Number.POSITIVE_INFINITY;
    let sent = 0;
    let lastReport = started;
    while (!stopped && sent < limit && Date.now() < deadline) {
      // send what the rate allows by now, in one produce request per tick
      const due = Math.min(limit, Math.floor(((Date.now() - started) / 1000) * options.rate) + 1) - sent;
      if (due > 0) {
        const now = Date.now();
        await producer.send(Array.from({ length: due }, () => fleet.reading(now)));
        sent += due;
      }
      if (Date.now() - lastReport >= 5000) {
        console.log(`sent ${sent} readings`);
        lastReport = Date.now();
      }
      await sleep(TICK_MS);
    }
    await producer.disconnect();
    console.log(`sent ${sent} readings in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
