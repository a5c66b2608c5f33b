import { decideDelivery, DeliveryPolicy, evolveDelivery, initialDeliveryState, NotificationDeliveryState } from '@fleetstream/domain';
import {
  alertNotifierGroup, ConsumedRecord, consumedRecord, ConsumerGroupAdmin, ConsumerStartup, deadLetterMessage, FailureStreak, FailureStreaks, FleetTopics,
  NOTIFICATION_HEADERS, planOffsetChanges, ActiveGroupError, RecordFault,
} from '@fleetstream/kafka';
import type { AlertEventRecord, RegistryCodec } from '@fleetstream/serde';
import { CompressionTypes, Consumer, EachMessagePayload, Kafka, Producer } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DeliveryOutcome } from './notification.metrics';
import { attemptDelivery, notificationOf } from './webhook-delivery';
import type { NotificationSinks, WebhookSink } from './webhook-sinks';

export interface SinkNotifierSettings {
  prefix: string;
  topics: Pick<FleetTopics, 'alerts' | 'alertNotificationsRedrive' | 'alertNotificationsDlq'>;
  policy: DeliveryPolicy;
  timeoutMs: number;
  sessionTimeoutMs: number;
  /** Partitions of fleet.alerts and the re-drive topic together: each one is worked on at once, in order within it. */
  partitions: number;
}

export interface SinkNotifierDeps {
  kafka: Kafka;
  codec: RegistryCodec<AlertEventRecord>;
  sinks: NotificationSinks;
  /** Shared by the sinks (dead letters are rare, one producer is enough), connected on first use. */
  deadLetters: () => Promise<Producer>;
  counted: (sink: string, outcome: DeliveryOutcome) => void;
  log: { log(message: string): void; warn(message: string): void };
}

/** One sink's notifier as /ready sees it: whether it consumes, and which partitions' notifications are being retried. */
export interface SinkNotifierStatus {
  sink: string;
  running: boolean;
  problem?: string;
  /** Partitions whose current notification keeps failing on this sink (the sink's trouble, not this service's). */
  retrying: Array<FailureStreak & { partition: string }>;
}

/** The service is stopping: the notification being delivered stays uncommitted and is sent again after the restart. */
class Stopping extends Error {}

/**
 * Delivers fleet.alerts to one webhook sink, at least once, in order per partition (so per device).
 * The sink has its own consumer group, so its committed offsets are its own: a slow or dead sink
 * lags alone and never holds back evaluation or another sink. An offset is committed only after
 * its notification was delivered or dead-lettered, so a crash or restart sends it again. A sink
 * seen for the first time starts at the end of fleet.alerts (it is not sent the whole retention).
 */
export class SinkNotifier {
  private consumer: Consumer;
  private stopping = false;
  private readonly stop$ = new AbortController();
  private readonly startup: ConsumerStartup;
  private readonly retrying = new FailureStreaks<string>();
  private readonly groupId: string;
  private readonly decide: ReturnType<typeof decideDelivery>;

  constructor(
    private readonly sink: WebhookSink,
    private readonly settings: SinkNotifierSettings,
    private readonly deps: SinkNotifierDeps,
  ) {
    this.groupId = alertNotifierGroup(settings.prefix, sink.id);
    this.decide = decideDelivery(settings.policy);
    this.startup = new ConsumerStartup(`notifier ${sink.id}`, deps.log);
    this.consumer = this.createConsumer();
  }

  status(): SinkNotifierStatus {
    return {
      sink: this.sink.id,
      running: this.startup.running,
      ...(this.startup.problem && { problem: this.startup.problem }),
      retrying: this.retrying.failing().map(({ key, ...streak }) => ({ partition: key, ...streak })),
    };
  }

  launch(): void {
    this.startup.launch(
      async () => {
        await this.deps.deadLetters();
        await this.startAtEndWhenNew();
        await this.run();
      },
      () => this.stopping,
      async () => {
        await this.consumer.disconnect();
        this.consumer = this.createConsumer();
      },
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.stop$.abort();
    await this.consumer.disconnect();
  }

  private createConsumer(): Consumer {
    const consumer = this.deps.kafka.consumer({
      groupId: this.groupId,
      sessionTimeout: this.settings.sessionTimeoutMs,
      heartbeatInterval: this.heartbeatMs,
      maxWaitTimeInMs: 100,
    });
    // partitions may have moved: the retries this instance reports are only those of its next assignment
    consumer.on(consumer.events.GROUP_JOIN, () => this.retrying.clear());
    this.startup.watch(
      consumer,
      async () => {
        await this.consumer.disconnect().catch(() => undefined);
        this.consumer = this.createConsumer();
        await this.run();
      },
      () => this.stopping,
    );
    return consumer;
  }

  private get heartbeatMs(): number {
    return Math.max(100, Math.floor(this.settings.sessionTimeoutMs / 5));
  }

  private async run(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.settings.topics.alerts, this.settings.topics.alertNotificationsRedrive], fromBeginning: true });
    await this.consumer.run({
      partitionsConsumedConcurrently: this.settings.partitions,
      // commit each notification's offset once it is settled, not at the end of the batch
      autoCommitThreshold: 1,
      eachMessage: (payload) => this.onMessage(payload),
    });
  }

  /** A new group starts at the end of fleet.alerts: a sink added today is not sent a month of old alarms. */
  private async startAtEndWhenNew(): Promise<void> {
    const admin = new ConsumerGroupAdmin(this.deps.kafka);
    try {
      const positions = await admin.positions(this.groupId, this.settings.topics.alerts);
      if (positions.some((position) => position.committed !== null)) return;
      await admin.applyReset(this.groupId, planOffsetChanges(positions, new Map(positions.map((position) => [position.partition, position.high]))));
      this.deps.log.log(`sink ${this.sink.id}: new, starts at the end of ${this.settings.topics.alerts}`);
    } catch (error) {
      // another instance already consumes for this sink: its commits decide where we start
      if (!(error instanceof ActiveGroupError)) throw error;
    } finally {
      await admin.close();
    }
  }

  private async onMessage({ topic, partition, message, heartbeat }: EachMessagePayload): Promise<void> {
    const record = consumedRecord({ topic, partition }, message);
    // a re-driven notification goes to the sink that did not take it, not to every sink again
    if (topic === this.settings.topics.alertNotificationsRedrive && headerOf(record, NOTIFICATION_HEADERS.sink) !== this.sink.id) return;
    const decoded = await this.deps.codec.decode(record.value);
    if (!decoded.ok) {
      await this.deadLetter(record, decoded.rejection, 0);
      this.deps.counted(this.sink.id, 'dead_lettered');
      return;
    }
    if (!this.deps.sinks.sinksFor(decoded.value).some((sink) => sink.id === this.sink.id)) return;
    // kafkajs heartbeats only between messages: keep the membership while one is retried for minutes
    const cancel = new AbortController();
    const onStop = () => cancel.abort(new Stopping('the service is stopping'));
    this.stop$.signal.addEventListener('abort', onStop);
    const keepAlive = setInterval(() => {
      // a rebalance moves the partition elsewhere: stop here, the new owner sends it (at least once)
      heartbeat().catch((error: Error) => cancel.abort(error));
    }, this.heartbeatMs);
    try {
      await this.deliver(record, decoded.value, cancel.signal);
    } finally {
      clearInterval(keepAlive);
      this.stop$.signal.removeEventListener('abort', onStop);
    }
  }

  /** Attempts until the decider says delivered or dead-lettered; throws (offset uncommitted) when cancelled. */
  private async deliver(record: ConsumedRecord, event: AlertEventRecord, cancel: AbortSignal): Promise<void> {
    const notification = notificationOf(event);
    const streak = `${record.topic}/${record.partition}`;
    let state: NotificationDeliveryState = initialDeliveryState;
    for (;;) {
      const outcome = await attemptDelivery(this.sink, notification, state.attempts + 1, this.settings.timeoutMs, cancel);
      const events = this.decide({ type: 'RecordAttempt', data: { outcome }, metadata: { at: Date.now() } }, state);
      state = events.reduce(evolveDelivery, state);
      for (const decided of events) {
        switch (decided.type) {
          case 'NotificationDelivered':
            this.retrying.succeeded(streak);
            this.deps.counted(this.sink.id, 'delivered');
            return;
          case 'NotificationRetryScheduled':
            if (decided.data.attempt === 1) this.deps.log.warn(`sink ${this.sink.id}: ${notification.idempotencyKey} not delivered (${decided.data.error}); retrying with backoff`);
            this.retrying.failed(streak, new Error(decided.data.error));
            this.deps.counted(this.sink.id, 'retried');
            await sleep(Math.max(0, decided.data.retryAt - Date.now()), undefined, { signal: cancel });
            break;
          case 'NotificationDeadLettered':
            await this.deadLetter(record, { reason: decided.data.reason, error: `${decided.data.error} (after ${decided.data.attempts} attempts to ${this.sink.id})` }, decided.data.attempts);
            this.retrying.succeeded(streak);
            this.deps.counted(this.sink.id, 'dead_lettered');
            this.deps.log.warn(`sink ${this.sink.id}: ${notification.idempotencyKey} dead-lettered (${decided.data.reason}): ${decided.data.error}`);
            return;
        }
      }
    }
  }

  /** Resolves once the dead letter is on every in-sync replica; only then is the offset committed. */
  private async deadLetter(record: ConsumedRecord, fault: RecordFault, attempts: number): Promise<void> {
    const message = deadLetterMessage({ record, rejection: fault }, Date.now(), 'notifications');
    message.headers = { ...message.headers, [NOTIFICATION_HEADERS.sink]: this.sink.id, [NOTIFICATION_HEADERS.attempts]: String(attempts) };
    await (await this.deps.deadLetters()).send({ topic: this.settings.topics.alertNotificationsDlq, acks: -1, compression: CompressionTypes.None, messages: [message] });
  }
}

function headerOf(record: ConsumedRecord, name: string): string | undefined {
  const value = record.headers[name];
  return (Array.isArray(value) ? value[0] : value)?.toString('utf8');
}
