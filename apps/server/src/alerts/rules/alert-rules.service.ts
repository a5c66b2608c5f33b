import { AlertRule, AlertRuleError, exponentialBackoffMs, validateAlertRule } from '@fleetstream/domain';
import { FleetTopics, idempotentProducerConfig } from '@fleetstream/kafka';
import { AlertRuleRecord, readAvroSchema, RegistryCodec, toAlertRuleRecord } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { BadRequestException, HttpException, HttpStatus, Inject, Injectable, Logger, NotFoundException, OnModuleInit, ServiceUnavailableException } from '@nestjs/common';
import { Mutex } from 'async-mutex';
import { Kafka, KafkaJSError, KafkaJSProtocolError } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { setTimeout } from 'node:timers/promises';
import { AppConfig, fleetstreamConfig } from '../../infrastructure/fleetstream.config';
import { KAFKA, SCHEMA_REGISTRY, TOPICS } from '../../infrastructure/tokens';
import { VERSION_TAG_PATTERN } from '../../twins/twin-version';
import { StoredAlertRule } from '../alert-rule-catalog';
import { AlertRulesReadModel } from './alert-rules.read-model';

/** How long a write waits for this instance's catalog to read it back before it answers 202. */
export const READ_YOUR_WRITE_MS = 5000;
const REVISION_TAG = new RegExp(VERSION_TAG_PATTERN);
/** Writes another instance fenced are decided again on the rule as it then stands, for this long at most. */
const FENCED_WRITE_BUDGET_MS = 15_000;
const FENCED_RETRY_BACKOFF = { initialMs: 20, maxMs: 500 };
/**
 * What the broker answers a producer whose transactional id another instance took over, or whose
 * transaction that instance's takeover is still completing: each means "decide again", never a 500.
 */
const FENCING_ERRORS = new Set(['INVALID_PRODUCER_EPOCH', 'INVALID_TXN_STATE', 'CONCURRENT_TRANSACTIONS', 'INVALID_PRODUCER_ID_MAPPING', 'TRANSACTION_COORDINATOR_FENCED']);

type KeyedRecord = { key: string; value: AlertRuleRecord | null };

/** A write and whether this instance's catalog already shows it (a GET here sees it). */
export interface RuleWrite {
  stored: StoredAlertRule;
  visible: boolean;
}

export interface AlertRulesPage {
  rules: StoredAlertRule[];
  /** Present when more rules follow: the `cursor` of the next page. */
  nextCursor?: string;
}

/**
 * Writes alert rules to fleet.alert-rules and reads them from the catalog. A write answers once this
 * instance's catalog has read it back, so a GET that follows on the same instance sees it.
 *
 * The revision check (If-Match) and the next revision are decided on the rule as it stands after
 * every earlier write, on any instance: all instances write under one transactional id, so a write
 * first fences whichever write another instance has in flight (Kafka aborts that one's transaction),
 * then reads the topic to its end and decides. A write that was fenced is decided again. On one
 * instance, writes go one at a time, so they do not fence each other.
 */
@Injectable()
export class AlertRulesService implements OnModuleInit {
  private readonly codec: RegistryCodec<AlertRuleRecord>;
  private schemaId = 0;
  private readonly transactionalId: string;
  private readonly writes = new Mutex();
  private readonly logger = new Logger(AlertRulesService.name);
  /** The names of the ALERT_WEBHOOKS sinks, which a rule's `notify` may name. */
  private readonly sinkNames: ReadonlySet<string>;

  constructor(
    @Inject(fleetstreamConfig.KEY) config: AppConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(SCHEMA_REGISTRY) registry: SchemaRegistry,
    @Inject(TOPICS) private readonly topics: FleetTopics,
    private readonly catalog: AlertRulesReadModel,
  ) {
    this.codec = new RegistryCodec<AlertRuleRecord>(registry, readAvroSchema('alert-rule'));
    this.transactionalId = `${config.TOPIC_PREFIX}.alert-rules-writer`;
    this.sinkNames = new Set(config.ALERT_WEBHOOKS.flatMap((sink) => (sink.name === undefined ? [] : [sink.name])));
  }

  async onModuleInit(): Promise<void> {
    this.schemaId = await this.codec.register(`${this.topics.alertRules}-value`);
  }

  /** One page of rules in id order, after the rule the cursor names. */
  list(limit: number, cursor?: string): AlertRulesPage {
    const all = this.catalog.all();
    const from = cursor === undefined ? 0 : all.findIndex((stored) => stored.id > cursor);
    const rules = from < 0 ? [] : all.slice(from, from + limit);
    const more = from >= 0 && from + limit < all.length;
    return more ? { rules, nextCursor: rules[rules.length - 1]!.id } : { rules };
  }

  get(id: string): StoredAlertRule {
    const stored = this.catalog.get(id);
    if (!stored) throw new NotFoundException(`no alert rule "${id}"`);
    return stored;
  }

  /** Records a new rule under a new id, revision 1. */
  create(body: unknown, actor: string): Promise<RuleWrite> {
    const rule = validRule(body, this.sinkNames);
    const id = randomUUID();
    return this.written(() => this.revision(id, rule, 1, actor));
  }

  /** Replaces the rule; with If-Match, only when it names the rule's current revision (412 otherwise). */
  replace(id: string, body: unknown, ifMatch: string | undefined, actor: string): Promise<RuleWrite> {
    const rule = validRule(withoutReadOnlyFields(id, body), this.sinkNames);
    const expected = expectedRevision(ifMatch);
    return this.written(() => this.revision(id, rule, this.current(id, expected).revision + 1, actor));
  }

  /**
   * Deletes the rule: one last record that says who deleted it (the audit), then a tombstone, in one
   * transaction. False when this instance's catalog did not read the deletion back in time.
   */
  async remove(id: string, ifMatch: string | undefined, actor: string): Promise<boolean> {
    const expected = expectedRevision(ifMatch);
    const { visible } = await this.written(() => {
      const current = this.current(id, expected);
      const at = Date.now();
      const deletion = toAlertRuleRecord(id, current.rule, { revision: current.revision + 1, updatedAt: at, updatedBy: actor }, { at, by: actor });
      return { stored: current, records: [{ key: id, value: deletion }, { key: id, value: null }] };
    });
    return visible;
  }

  private current(id: string, expected: number | undefined): StoredAlertRule {
    const current = this.get(id);
    if (expected !== undefined && expected !== current.revision) {
      throw new HttpException(
        { statusCode: HttpStatus.PRECONDITION_FAILED, error: 'Precondition Failed', message: `alert rule "${id}" is at revision ${current.revision}, not ${expected} (If-Match): read it again`, revision: current.revision },
        HttpStatus.PRECONDITION_FAILED,
      );
    }
    return current;
  }

  private revision(id: string, rule: AlertRule, revision: number, actor: string): { stored: StoredAlertRule; records: KeyedRecord[] } {
    const stored: StoredAlertRule = { id, rule, revision, updatedAt: Date.now(), updatedBy: actor };
    return { stored, records: [{ key: id, value: toAlertRuleRecord(id, rule, stored) }] };
  }

  /**
   * Decides the records on the rules as they stand after every earlier write, and commits them with
   * acks from all in-sync replicas; then waits for this instance's catalog to read them back.
   * `decide` throws the 404 or 412 that refuses the write.
   */
  private written(decide: () => { stored: StoredAlertRule; records: KeyedRecord[] }): Promise<RuleWrite> {
    return this.writes.runExclusive(async () => {
      const deadline = Date.now() + FENCED_WRITE_BUDGET_MS;
      for (let attempt = 1; ; attempt++) {
        const producer = this.kafka.producer({ ...idempotentProducerConfig, transactionalId: this.transactionalId });
        await producer.connect();
        try {
          // opening the transaction takes the transactional id over (InitProducerId): another
          // instance's write in flight is fenced, and one it committed has its markers written
          const transaction = await producer.transaction();
          let written: { stored: StoredAlertRule; lastOffset: number };
          try {
            // so every write before this one is in the catalog once it reads to the end
            await this.catalog.caughtUp(READ_YOUR_WRITE_MS).catch((error: Error) => {
              throw new ServiceUnavailableException(`the alert rules catalog of this instance is behind fleet.alert-rules (${error.message}); try again`);
            });
            const { stored, records } = decide();
            const messages = await Promise.all(records.map(async ({ key, value }) => ({ key, value: value && (await this.codec.encode(this.schemaId, value)) })));
            const [metadata] = await transaction.send({ topic: this.topics.alertRules, acks: -1, messages });
            await transaction.commit();
            written = { stored, lastOffset: Number(metadata!.baseOffset) + messages.length - 1 };
          } catch (error) {
            await transaction.abort().catch(() => undefined);
            throw error;
          }
          const visible = await this.catalog.readPast(written.lastOffset, READ_YOUR_WRITE_MS);
          if (!visible) this.logger.warn(`alert rules: rule "${written.stored.id}" is on fleet.alert-rules but this instance did not read it back within ${READ_YOUR_WRITE_MS} ms`);
          return { stored: written.stored, visible };
        } catch (error) {
          if (!isFenced(error)) {
            if (error instanceof KafkaJSError) this.logger.error(`alert rules: write failed: ${errorChain(error)}`);
            throw error;
          }
          if (Date.now() >= deadline) {
            this.logger.warn(`alert rules: write fenced by other instances for ${FENCED_WRITE_BUDGET_MS} ms (${attempt} attempts): ${errorChain(error)}`);
            throw new ServiceUnavailableException('alert rules are being written by other instances without pause; try again');
          }
          this.logger.log(`alert rules: another instance wrote first (${errorChain(error)}); deciding again`);
        } finally {
          await producer.disconnect();
        }
        // two instances that keep fencing each other in step would never get through without the jitter
        await setTimeout(exponentialBackoffMs(FENCED_RETRY_BACKOFF, attempt) * (0.5 + Math.random()));
      }
    });
  }
}

/**
 * Whether the broker fenced the write: said directly, as the cause kafkajs wraps a non-retriable or
 * retries-exceeded error around, or among the errors of an aggregate (a send to several brokers).
 */
export function isFenced(error: unknown, depth = 0): boolean {
  if (!(error instanceof Error) || depth > 5) return false;
  if (error instanceof KafkaJSProtocolError && FENCING_ERRORS.has(error.type)) return true;
  const aggregated = (error as { errors?: unknown }).errors;
  if (Array.isArray(aggregated) && aggregated.some((inner) => isFenced(inner, depth + 1))) return true;
  return isFenced(error.cause, depth + 1);
}

/** The error and its causes, with their broker error types, for the log. */
function errorChain(error: unknown): string {
  const parts: string[] = [];
  for (let cause = error, depth = 0; cause instanceof Error && depth < 6; cause = cause.cause, depth++) {
    parts.push(`${cause.name}${cause instanceof KafkaJSProtocolError ? ` ${cause.type}` : ''}: ${cause.message}`);
  }
  return parts.join(' <- ');
}

/** What a GET answers beside the rule: the server keeps these, so a PUT may send them back unchanged. */
const READ_ONLY_FIELDS = ['id', 'revision', 'updatedAt', 'updatedBy'] as const;

/**
 * The PUT body without the fields a GET added, so a rule read, edited and sent back is accepted. An
 * `id` must be the one in the path; the revision to check is If-Match's job, so `revision` is ignored.
 */
function withoutReadOnlyFields(id: string, body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body;
  const fields = { ...(body as Record<string, unknown>) };
  if ('id' in fields && fields.id !== id) {
    throw new BadRequestException({ statusCode: HttpStatus.BAD_REQUEST, error: 'Bad Request', message: `id: is "${String(fields.id)}", but the path names rule "${id}"`, errors: [{ field: 'id', message: `is "${String(fields.id)}", but the path names rule "${id}"` }] });
  }
  for (const field of READ_ONLY_FIELDS) delete fields[field];
  return fields;
}

/**
 * The body as a rule, or a 400 naming each wrong field. The sinks it names must be in ALERT_WEBHOOKS:
 * a misspelt name would otherwise send its alarms to the global sinks only, silently.
 */
function validRule(body: unknown, sinkNames: ReadonlySet<string>): AlertRule {
  const validated = validateAlertRule(body);
  const errors: AlertRuleError[] = validated.ok
    ? (validated.rule.notify ?? []).flatMap((name, i) => (sinkNames.has(name) ? [] : [{ field: `notify[${i}]`, message: `no webhook sink named "${name}" (ALERT_WEBHOOKS)` }]))
    : validated.errors;
  if (validated.ok && errors.length === 0) return validated.rule;
  throw new BadRequestException({
    statusCode: HttpStatus.BAD_REQUEST,
    error: 'Bad Request',
    message: errors.map(({ field, message }) => `${field}: ${message}`).join('; '),
    errors,
  });
}

/** The revision an If-Match header names (`"3"`, `W/"3"` or `3`), or undefined without one. */
function expectedRevision(ifMatch: string | undefined): number | undefined {
  if (ifMatch === undefined) return undefined;
  const match = REVISION_TAG.exec(ifMatch.trim());
  if (!match) throw new BadRequestException(`If-Match must be the rule's revision (its ETag), e.g. "3"; got ${ifMatch}`);
  return Number(match[1] ?? match[2]);
}
