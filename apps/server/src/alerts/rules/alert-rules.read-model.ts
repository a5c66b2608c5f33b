import { CompactedTopicView, FleetTopics } from '@fleetstream/kafka';
import { AlertRuleRecord, fromAlertRuleRecord, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { AppConfig, fleetstreamConfig } from '../../infrastructure/fleetstream.config';
import { KAFKA, SCHEMA_REGISTRY, TOPICS } from '../../infrastructure/tokens';
import { ViewMonitor } from '../../metrics/view.metrics';
import { AlertRuleCatalog, StoredAlertRule } from '../alert-rule-catalog';

/** A record of fleet.alert-rules as read: the rule, and whether it is the deletion record before the tombstone. */
interface ReadRule {
  stored: StoredAlertRule;
  deleted: boolean;
}

type ChangeListener = (id: string, rule: StoredAlertRule | null) => void;

/**
 * The alert rules every instance holds: the compacted fleet.alert-rules read whole before the
 * instance is ready (the views check of /ready) and followed. A record whose rule does not validate
 * is skipped (counted in fleetstream_view_skipped_records_total); the rule keeps its last good revision.
 */
@Injectable()
export class AlertRulesReadModel implements AlertRuleCatalog, OnModuleInit, BeforeApplicationShutdown {
  private readonly view: CompactedTopicView<ReadRule>;
  private readonly rules = new Map<string, StoredAlertRule>();
  /** The rules in id order, made again after a change: the list pages in id order. */
  private sorted: readonly StoredAlertRule[] | undefined;
  private readonly listeners = new Set<ChangeListener>();
  private readonly logger = new Logger(AlertRulesReadModel.name);

  constructor(
    @Inject(fleetstreamConfig.KEY) config: AppConfig,
    @Inject(KAFKA) kafka: Kafka,
    @Inject(SCHEMA_REGISTRY) registry: SchemaRegistry,
    @Inject(TOPICS) topics: FleetTopics,
    monitor: ViewMonitor,
  ) {
    const codec = new RegistryCodec<AlertRuleRecord>(registry, readAvroSchema('alert-rule'));
    this.view = new CompactedTopicView<ReadRule>(kafka, {
      name: 'alert-rules',
      topic: topics.alertRules,
      groupPrefix: `${config.TOPIC_PREFIX}.alert-rules-view`,
      decode: (bytes) => codec.decodeOwn(bytes, topics.alertRules, readRule),
      onSkip: monitor.skipped,
      logger: this.logger,
      onChange: (id, read) => this.apply(id, read),
    });
    monitor.watch(this.view);
  }

  async onModuleInit(): Promise<void> {
    await this.view.start();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.view.stop();
  }

  all(): readonly StoredAlertRule[] {
    this.sorted ??= [...this.rules.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return this.sorted;
  }

  get(id: string): StoredAlertRule | undefined {
    return this.rules.get(id);
  }

  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Resolves once every committed record on fleet.alert-rules as of now is read. */
  caughtUp(timeoutMs?: number): Promise<void> {
    return this.view.caughtUp(undefined, timeoutMs);
  }

  /** Whether the catalog read fleet.alert-rules (one partition) past `offset` within the time: a write there is in `get`. */
  readPast(offset: number, timeoutMs: number): Promise<boolean> {
    return this.view.readPast(0, offset, timeoutMs);
  }

  private apply(id: string, read: ReadRule | null): void {
    if (read !== null && read.stored.id !== id) {
      this.logger.warn(`alert-rules: ignoring a record under key "${id}" that holds rule "${read.stored.id}"`);
      return;
    }
    const rule = read === null || read.deleted ? null : read.stored;
    // the deletion record and its tombstone are one change
    if (rule === null && !this.rules.has(id)) return;
    if (rule === null) this.rules.delete(id);
    else this.rules.set(id, rule);
    this.sorted = undefined;
    for (const listener of this.listeners) {
      try {
        listener(id, rule);
      } catch (error) {
        this.logger.warn(`alert-rules: a change listener failed on rule "${id}": ${(error as Error).message}`);
      }
    }
  }
}

/** A record as the catalog holds it; throws (the view skips the record) when its rule does not validate. */
function readRule(record: AlertRuleRecord): ReadRule {
  const validated = fromAlertRuleRecord(record);
  if (!validated.ok) throw new Error(`rule "${record.id}" revision ${record.revision} is not a valid rule: ${validated.errors.map((e) => `${e.field} ${e.message}`).join('; ')}`);
  const { id, revision, updatedAt, updatedBy, deletedAt } = record;
  return { stored: { id, rule: validated.rule, revision, updatedAt, updatedBy }, deleted: deletedAt !== null };
}
