import type { Telemetry } from '@fleetstream/domain';
import { AvroTopicProducer, DeviceCommandResponder, DeviceReaction, ensureTopics, fleetTopicDefinitions, TelemetryProducer } from '@fleetstream/kafka';
import { DeviceCommandRecord, DeviceEventRecord, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { Command, InvalidArgumentError } from 'commander';
import { userInfo } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { cliContext } from '../cli-context';
import { ANOMALY_EPISODE, AnomalyEpisodes, OfflinePeriods, SimulatedFleet, simulatedDeviceId } from './simulated-fleet';

const TICK_MS = 100;

/** Who runs the CLI, for the audit trail; a container user without a passwd entry is named by $USER or its uid. */
function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? `uid-${process.getuid?.() ?? 'unknown'}`;
  }
}

export function positiveInt(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError(`expected a whole number ≥ 1, got "${value}"`);
  return parsed;
}

export function fraction(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || parsed > 1) throw new InvalidArgumentError(`expected a fraction from 0 to 1, got "${value}"`);
  return parsed;
}

export function wholeNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError(`expected a whole number ≥ 0, got "${value}"`);
  return parsed;
}

interface SimulateOptions {
  devices: number;
  rate: number;
  duration?: number;
  count?: number;
  commands: boolean;
  commandLatencyMs: number;
  commandFailureRate: number;
  offlineFraction: number;
  offlinePeriod: number;
  anomalyRate: number;
}

export const simulateCommand = new Command('simulate')
  .description('publish Avro telemetry from a simulated fleet (Confluent wire format, key = device id)')
  .option('-d, --devices <n>', 'devices in the fleet', positiveInt, 100)
  .option('-r, --rate <n>', 'readings per second, whole fleet', positiveInt, 100)
  .option('--duration <seconds>', 'stop after this many seconds (default: until Ctrl-C)', positiveInt)
  .option('--count <n>', 'stop after this many readings', positiveInt)
  .option('--no-commands', 'do not answer commands on fleet.device-commands')
  .option('--command-latency-ms <ms>', 'pause before each acknowledgment stage', wholeNumber, 200)
  .option('--command-failure-rate <fraction>', 'share of commands that fail', fraction, 0.05)
  .option('--offline-fraction <fraction>', 'share of devices offline in each period (no telemetry, no answers; reported by a gateway)', fraction, 0)
  .option('--offline-period <seconds>', 'how long an offline period lasts', positiveInt, 60)
  .option(
    '--anomaly-rate <fraction>',
    `share of devices (at least one when above 0) whose temperature climbs above 80 for 30–60 s every ${ANOMALY_EPISODE.periodMs / 1000} s, then falls back below 75`,
    fraction,
    0,
  )
  .action(async (options: SimulateOptions) => {
    const { config, topics, kafka, registry } = cliContext('simulator');
    await ensureTopics(kafka, fleetTopicDefinitions(topics, config.TELEMETRY_PARTITIONS));
    const codec = new RegistryCodec<Telemetry>(registry, readAvroSchema('telemetry'));
    const producer = new TelemetryProducer(kafka, codec, topics.telemetry);
    const schemaId = await producer.connect();
    const offline = new OfflinePeriods(options.devices, options.offlineFraction, options.offlinePeriod * 1000);
    const gateway = new AvroTopicProducer(kafka, new RegistryCodec<DeviceEventRecord>(registry, readAvroSchema('device-event')), topics.deviceEvents, (e) => e.deviceId);
    await gateway.connect();
    const devices = options.commands
      ? new DeviceCommandResponder(kafka, registry, topics, {
          groupId: `${config.TOPIC_PREFIX}.simulated-devices`,
          stageDelayMs: options.commandLatencyMs,
          react: (command: DeviceCommandRecord): DeviceReaction => {
            if (offline.isOffline(command.deviceId)) return { answer: false };
            if (Math.random() < options.commandFailureRate) return { answer: true, stages: ['delivered', 'accepted', 'failed'], detail: 'simulated failure' };
            return { answer: true, stages: ['delivered', 'accepted', 'succeeded'], result: { simulated: true } };
          },
        })
      : undefined;
    await devices?.start();
    console.log(
      `simulating ${options.devices} devices (${simulatedDeviceId(0)} … ${simulatedDeviceId(options.devices - 1)}) at ${options.rate}/s into ${topics.telemetry}, schema id ${schemaId}`,
    );
    const anomalies = new AnomalyEpisodes(options.devices, options.anomalyRate, Date.now());
    const fleet = new SimulatedFleet(options.devices, Math.random, anomalies);
    if (anomalies.devices.length > 0) {
      const named = anomalies.devices.slice(0, 5).map(simulatedDeviceId).join(', ');
      console.log(
        `${anomalies.devices.length} anomalous devices (${named}${anomalies.devices.length > 5 ? ', …' : ''}); the first is above 80 °C from ${(ANOMALY_EPISODE.firstStartMs + ANOMALY_EPISODE.rampMs) / 1000} s on`,
      );
    }
    let stopped = false;
    process.once('SIGINT', () => (stopped = true));
    process.once('SIGTERM', () => (stopped = true));
    const actor = `cli:${osUser()}`;
    const started = Date.now();
    const deadline = options.duration ? started + options.duration * 1000 : Number.POSITIVE_INFINITY;
    const limit = options.count ?? Number.POSITIVE_INFINITY;
    let sent = 0;
    let lastReport = started;
    while (!stopped && sent < limit && Date.now() < deadline) {
      // send what the rate allows by now, in one produce request per tick
      const due = Math.min(limit, Math.floor(((Date.now() - started) / 1000) * options.rate) + 1) - sent;
      const now = Date.now();
      const { wentOffline, cameBack } = offline.advance(now);
      if (wentOffline.length + cameBack.length > 0) {
        // the audit trail tells these simulated gateway reports from a real gateway's
        const report = (deviceId: string, online: boolean): DeviceEventRecord => ({
          deviceId, requestId: `simulator-${now}`, at: now, kind: 'CONNECTIVITY', patchJson: null, expectedVersion: null, online, actor,
        });
        await gateway.send([...wentOffline.map((id) => report(id, false)), ...cameBack.map((id) => report(id, true))]);
        console.log(`${wentOffline.length} devices went offline, ${cameBack.length} came back`);
      }
      if (due > 0) {
        // an offline device's turn passes without a reading
        const readings = Array.from({ length: due }, () => fleet.reading(now)).filter((reading) => !offline.isOffline(reading.deviceId));
        await producer.send(readings);
        sent += due;
      }
      if (Date.now() - lastReport >= 5000) {
        console.log(`sent ${sent} readings`);
        lastReport = Date.now();
      }
      await sleep(TICK_MS);
    }
    await producer.disconnect();
    await gateway.disconnect();
    await devices?.stop();
    if (devices) console.log(`answered ${devices.received.filter((m) => m.action === 'EXECUTE').length} command sends`);
    console.log(`sent ${sent} readings in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
