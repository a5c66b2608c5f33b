/** Every fleetstream topic name and header, derived from one configurable prefix. */
export function fleetTopics(prefix: string) {
  const name = (suffix: string) => (prefix ? `${prefix}.${suffix}` : suffix);
  return {
    telemetry: name('telemetry'),
    /**
     * Telemetry a producer placed on another partition than its key's murmur2 partition (librdkafka's
     * CRC32 default, say), forwarded there by the twin processor: internal, co-partitioned with telemetry.
     */
    telemetryRepartition: name('telemetry.repartition'),
    telemetryDlq: name('telemetry.dlq'),
    /** Which dead letters were re-driven (compacted, key = DLQ partition/offset): each one at most once. */
    telemetryDlqRedriven: name('telemetry.dlq.redriven'),
    replayBounds: name('replay-bounds'),
    twins: name('twins'),
    deviceEvents: name('device-events'),
    /** Device events a gateway placed on another partition than its key's murmur2 partition: as telemetryRepartition. */
    deviceEventsRepartition: name('device-events.repartition'),
    /** What the twin processor did with each desired patch (key = request id), for the PATCH waiting on it. */
    twinPatchOutcomes: name('twin-patch-outcomes'),
    commands: name('commands'),
    commandState: name('command-state'),
    deviceCommands: name('device-commands'),
    deviceAcks: name('device-acks'),
    alerts: name('alerts'),
    /** Alert rules by id (compacted): every instance reads it whole and follows it; a tombstone deletes a rule. */
    alertRules: name('alert-rules'),
    /** The alert decider's state per (device, rule) (compacted, key = `<deviceId>/<ruleId>`, in the device's partition), written with fleet.alerts in one transaction. */
    alertState: name('alert-state'),
    /** Operator commands for an alarm (ACKNOWLEDGE; key = device id, co-partitioned with telemetry), consumed by the alert processor. */
    alertCommands: name('alert-commands'),
    /** fleet.alerts records the alarm history writer could not decode. */
    alertsDlq: name('alerts.dlq'),
    /** Alert notifications a webhook sink did not take after its last attempt (original bytes + DLQ headers + the sink). */
    alertNotificationsDlq: name('alerts.notifications.dlq'),
    /** Which notification dead letters were re-driven (compacted, key = DLQ partition/offset): each one at most once. */
    alertNotificationsDlqRedriven: name('alerts.notifications.dlq.redriven'),
    /**
     * Where `dlq redrive --queue notifications` sends notifications back, for their own sink only:
     * re-sending them to fleet.alerts would repeat the alarm event for every reader and every sink.
     */
    alertNotificationsRedrive: name('alerts.notifications.redrive'),
    /** API keys by name (compacted): every instance reads it whole and follows it, so a new or revoked key counts everywhere within seconds. */
    apiKeys: name('api-keys'),
  } as const;
}

export type FleetTopics = ReturnType<typeof fleetTopics>;

/** Consumer group of each processor; under the topic prefix so two deployments on one cluster never share a group. */
export function fleetGroups(prefix: string) {
  const name = (suffix: string) => (prefix ? `${prefix}.${suffix}` : suffix);
  return {
    history: name('history-writer'),
    twinProcessor: name('twin-processor'),
    commandSaga: name('command-saga'),
    alertProcessor: name('alert-processor'),
    /** Writes fleet.alerts into ClickHouse (the `alerts` table), beside the telemetry history writer. */
    alertHistory: name('alert-history-writer'),
  } as const;
}

/** The consumer group of one webhook sink's notifier: each sink its own committed offsets, so a dead sink lags alone. */
export function alertNotifierGroup(prefix: string, sinkId: string): string {
  return prefix ? `${prefix}.alert-notifier.${sinkId}` : `alert-notifier.${sinkId}`;
}

/**
 * The consumer group of a processor by its short name (history, twins, commands, alerts) or its key in
 * fleetGroups; any other name is taken as a raw group id.
 */
export function resolveGroupId(prefix: string, name: string): string {
  const groups: Record<string, string> = fleetGroups(prefix);
  const aliases: Record<string, string> = { twins: 'twinProcessor', commands: 'commandSaga', alerts: 'alertProcessor' };
  return groups[aliases[name] ?? name] ?? name;
}

/** Headers fleetstream writes on dead-lettered records. */
export const DLQ_HEADERS = {
  reason: 'fleetstream.dlq.reason',
  error: 'fleetstream.dlq.error',
  sourceTopic: 'fleetstream.dlq.source.topic',
  sourcePartition: 'fleetstream.dlq.source.partition',
  sourceOffset: 'fleetstream.dlq.source.offset',
  failedAt: 'fleetstream.dlq.failed-at',
  /** Which processor refused the record: history, twins, commands or notifications. */
  processor: 'fleetstream.dlq.processor',
  /** On a re-driven record: the DLQ partition/offset it came from. */
  redrivenFrom: 'fleetstream.dlq.redriven-from',
} as const;

/** Headers of a notification dead letter (besides DLQ_HEADERS); kept on a re-drive, so it goes to the same sink. */
export const NOTIFICATION_HEADERS = {
  /** The sink (its id) that did not take the notification. */
  sink: 'fleetstream.notification.sink',
  /** Attempts made before it was dead-lettered. */
  attempts: 'fleetstream.notification.attempts',
} as const;

export interface TopicDefinition {
  topic: string;
  numPartitions: number;
  configEntries: { name: string; value: string }[];
}

/** The topics the service needs, with their policies (ARCHITECTURE.md, "Topics"). */
export function fleetTopicDefinitions(topics: FleetTopics, partitions: number): TopicDefinition[] {
  const deleteAfterDays = (days: number) => [
    { name: 'cleanup.policy', value: 'delete' },
    { name: 'retention.ms', value: String(days * 86_400_000) },
  ];
  const compacted = [{ name: 'cleanup.policy', value: 'compact' }];
  // read by the twin processor within milliseconds of being written; a day covers a partition stalled for hours
  const repartition = [
    { name: 'cleanup.policy', value: 'delete' },
    { name: 'retention.ms', value: String(86_400_000) },
    { name: 'segment.ms', value: String(3_600_000) },
  ];
  return [
    // telemetry and twins share the partition count: the twin of device X lives in X's partition number
    { topic: topics.telemetry, numPartitions: partitions, configEntries: deleteAfterDays(7) },
    { topic: topics.telemetryRepartition, numPartitions: partitions, configEntries: repartition },
    { topic: topics.telemetryDlq, numPartitions: partitions, configEntries: deleteAfterDays(30) },
    // one partition: the ledger is read whole before every re-drive and stays small
    { topic: topics.telemetryDlqRedriven, numPartitions: 1, configEntries: compacted },
    // where a replay with an end ends, per group and partition (key = group, topic, partition)
    { topic: topics.replayBounds, numPartitions: 1, configEntries: compacted },
    { topic: topics.twins, numPartitions: partitions, configEntries: compacted },
    { topic: topics.deviceEvents, numPartitions: partitions, configEntries: deleteAfterDays(30) },
    { topic: topics.deviceEventsRepartition, numPartitions: partitions, configEntries: repartition },
    // read whole by every instance at start and only needed while a PATCH waits: one hour, in 10-minute segments
    {
      topic: topics.twinPatchOutcomes,
      numPartitions: partitions,
      configEntries: [
        { name: 'cleanup.policy', value: 'delete' },
        { name: 'retention.ms', value: String(3_600_000) },
        { name: 'segment.ms', value: String(600_000) },
      ],
    },
    { topic: topics.commands, numPartitions: partitions, configEntries: deleteAfterDays(90) },
    { topic: topics.commandState, numPartitions: partitions, configEntries: compacted },
    { topic: topics.deviceCommands, numPartitions: partitions, configEntries: deleteAfterDays(7) },
    { topic: topics.deviceAcks, numPartitions: partitions, configEntries: deleteAfterDays(7) },
    { topic: topics.alerts, numPartitions: partitions, configEntries: deleteAfterDays(30) },
    // a few hundred records at most, read whole by every instance
    { topic: topics.alertRules, numPartitions: 1, configEntries: compacted },
    // co-partitioned with telemetry: a device's alert states live in its partition number
    { topic: topics.alertState, numPartitions: partitions, configEntries: compacted },
    // co-partitioned with telemetry: the alert processor applies a command in its device's partition
    { topic: topics.alertCommands, numPartitions: partitions, configEntries: deleteAfterDays(7) },
    { topic: topics.alertsDlq, numPartitions: partitions, configEntries: deleteAfterDays(30) },
    { topic: topics.alertNotificationsDlq, numPartitions: partitions, configEntries: deleteAfterDays(30) },
    { topic: topics.alertNotificationsDlqRedriven, numPartitions: 1, configEntries: compacted },
    // co-partitioned with fleet.alerts: a re-driven notification keeps its device's partition
    { topic: topics.alertNotificationsRedrive, numPartitions: partitions, configEntries: deleteAfterDays(30) },
    // a handful of records, read whole by every instance and the CLI
    { topic: topics.apiKeys, numPartitions: 1, configEntries: compacted },
  ];
}
