import { AlertRule, validateAlertRule } from '@fleetstream/domain';
import { AvroTopicProducer, FleetTopics } from '@fleetstream/kafka';
import { AlertRuleRecord, readAvroSchema, RegistryCodec, toAlertRuleRecord } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { BadRequestException, BeforeApplicationShutdown, HttpException, HttpStatus, Inject, Injectable, Logger, NotFoundException, OnModuleInit } from '@nestjs/common';
import { Mutex } from 'async-mutex';
import { Kafka } from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { KAFKA, SCHEMA_REGISTRY, TOPICS } from '../../infrastructure/tokens';
import { VERSION_TAG_PATTERN } from '../../twins/twin-version';
import { StoredAlertRule } from '../alert-rule-catalog';
import { AlertRulesReadModel } from './alert-rules.read-model';

/** How long a write waits for this instance's catalog to read it back before it answers 202. */
export const READ_YOUR_WRITE_MS = 5000;
const REVISION_TAG = new RegExp(VERSION_TAG_PATTERN);

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
 * Writes alert rules to fleet.alert-rules (acks from all in-sync replicas) and reads them from the
 * catalog. A write answers once this instance's catalog has read it back, so a GET that follows
 * on the same instance sees it. Writes on one instance go one at a time, so the revision check
 * (If-Match) and the next revision are decided on the rule as it stands after the previous write.
 */
@Injectable()
export class AlertRulesService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly producer: AvroTopicProducer<AlertRuleRecord>;
  private readonly writes = new Mutex();
  private readonly logger = new Logger(AlertRulesService.name);

  constructor(
    @Inject(KAFKA) kafka: Kafka,
    @Inject(SCHEMA_REGISTRY) registry: SchemaRegistry,
    @Inject(TOPICS) topics: FleetTopics,
    private readonly catalog: AlertRulesReadModel,
  ) {
    const codec = new RegistryCodec<AlertRuleRecord>(registry, readAvroSchema('alert-rule'));
    this.producer = new AvroTopicProducer(kafka, codec, topics.alertRules, (record) => record.id, (record) => record.updatedAt);
  }

  async onModuleInit(): Promise<void> {
    await this.producer.connect();
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.producer.disconnect();
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
    const rule = validRule(body);
    return this.writes.runExclusive(() => this.write(randomUUID(), rule, 1, actor));
  }

  /** Replaces the rule; with If-Match, only when it names the rule's current revision (412 otherwise). */
  replace(id: string, body: unknown, ifMatch: string | undefined, actor: string): Promise<RuleWrite> {
    const rule = validRule(body);
    const expected = expectedRevision(ifMatch);
    return this.writes.runExclusive(() => {
      const current = this.current(id, expected);
      return this.write(id, rule, current.revision + 1, actor);
    });
  }

  /**
   * Deletes the rule: one last record that says who deleted it (the audit), then a tombstone, in one
   * request. False when this instance's catalog did not read the deletion back in time.
   */
  remove(id: string, ifMatch: string | undefined, actor: string): Promise<boolean> {
    const expected = expectedRevision(ifMatch);
    return this.writes.runExclusive(async () => {
      const current = this.current(id, expected);
      const at = Date.now();
      const deletion = toAlertRuleRecord(id, current.rule, { revision: current.revision + 1, updatedAt: at, updatedBy: actor }, { at, by: actor });
      await this.producer.sendKeyed([{ key: id, value: deletion }, { key: id, value: null }]);
      return this.readBack();
    });
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

  private async write(id: string, rule: AlertRule, revision: number, actor: string): Promise<RuleWrite> {
    const stored: StoredAlertRule = { id, rule, revision, updatedAt: Date.now(), updatedBy: actor };
    await this.producer.send([toAlertRuleRecord(id, rule, stored)]);
    return { stored, visible: await this.readBack() };
  }

  /** Waits until the catalog has read the topic up to its end (this instance's write included). */
  private async readBack(): Promise<boolean> {
    try {
      await this.catalog.caughtUp(READ_YOUR_WRITE_MS);
      return true;
    } catch (error) {
      this.logger.warn(`alert rules: a write is on fleet.alert-rules but not yet read back: ${(error as Error).message}`);
      return false;
    }
  }
}

/** The body as a rule, or a 400 naming each wrong field. */
function validRule(body: unknown): AlertRule {
  const validated = validateAlertRule(body);
  if (validated.ok) return validated.rule;
  throw new BadRequestException({
    statusCode: HttpStatus.BAD_REQUEST,
    error: 'Bad Request',
    message: validated.errors.map(({ field, message }) => `${field}: ${message}`).join('; '),
    errors: validated.errors,
  });
}

/** The revision an If-Match header names (`"3"`, `W/"3"` or `3`), or undefined without one. */
function expectedRevision(ifMatch: string | undefined): number | undefined {
  if (ifMatch === undefined) return undefined;
  const match = REVISION_TAG.exec(ifMatch.trim());
  if (!match) throw new BadRequestException(`If-Match must be the rule's revision (its ETag), e.g. "3"; got ${ifMatch}`);
  return Number(match[1] ?? match[2]);
}
