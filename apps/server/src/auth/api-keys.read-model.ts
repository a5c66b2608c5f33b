import type { Role } from '@fleetstream/domain';
import { CompactedTopicView, FleetTopics } from '@fleetstream/kafka';
import { apiKeyProblem, ApiKeyRecord, hashApiKey, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleInit } from '@nestjs/common';
import { Kafka } from 'kafkajs';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { KAFKA, SCHEMA_REGISTRY, TOPICS } from '../infrastructure/tokens';
import { ViewMonitor } from '../metrics/view.metrics';
import { oidcSettings } from './oidc-settings';
import type { Principal } from './principal';

export const BOOTSTRAP_ADMIN = 'bootstrap-admin';

export type ApiKeyCheck = { ok: true; principal: Principal } | { ok: false; problem: string };

/**
 * The API keys every instance honours: the compacted fleet.api-keys read whole and followed (a key
 * created or revoked by `fleetstream keys` counts here within the view's fetch wait), plus the
 * bootstrap key from ADMIN_API_KEY. Only SHA-256 hashes are held; a request's key is hashed and looked up.
 */
@Injectable()
export class ApiKeysReadModel implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly view: CompactedTopicView<ApiKeyRecord>;
  private readonly byHash = new Map<string, ApiKeyRecord>();
  /** Each name's current hash, to drop the old one when a name gets a new record. */
  private readonly hashOf = new Map<string, string>();
  private readonly bootstrapHash: string | undefined;
  private readonly logger = new Logger(ApiKeysReadModel.name);

  constructor(
    @Inject(fleetstreamConfig.KEY) private readonly config: AppConfig,
    @Inject(KAFKA) kafka: Kafka,
    @Inject(SCHEMA_REGISTRY) registry: SchemaRegistry,
    @Inject(TOPICS) topics: FleetTopics,
    monitor: ViewMonitor,
  ) {
    this.bootstrapHash = config.ADMIN_API_KEY === undefined ? undefined : hashApiKey(config.ADMIN_API_KEY);
    const codec = new RegistryCodec<ApiKeyRecord>(registry, readAvroSchema('api-key'));
    this.view = new CompactedTopicView<ApiKeyRecord>(kafka, {
      name: 'api-keys',
      topic: topics.apiKeys,
      groupPrefix: `${config.TOPIC_PREFIX}.api-keys-view`,
      decode: (bytes) => codec.decodeOwn(bytes, topics.apiKeys, (record) => record),
      onSkip: monitor.skipped,
      logger: this.logger,
      onChange: (name, record) => this.index(name, record),
    });
    monitor.watch(this.view);
  }

  async onModuleInit(): Promise<void> {
    await this.view.start();
  }

  /**
   * Refuses to start when nobody could ever call the service: no ADMIN_API_KEY, no OIDC and no live key
   * on fleet.api-keys. Deciding that needs the whole topic, so this waits for the broker as long as it takes.
   */
  async onApplicationBootstrap(): Promise<void> {
    if (this.bootstrapHash !== undefined || oidcSettings(this.config) !== undefined) return;
    await this.view.caughtUp(undefined, Infinity);
    if (this.liveKeys() === 0) {
      throw new Error(
        'no credential could call this service: set ADMIN_API_KEY (say `openssl rand -base64 32`), or create a key with `fleetstream keys create --role admin --name <name>`, or configure OIDC',
      );
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.view.stop();
  }

  /** The principal an API key stands for, or why it stands for none (said to the caller: never the key itself). */
  check(secret: string): ApiKeyCheck {
    const hash = hashApiKey(secret);
    if (hash === this.bootstrapHash) return { ok: true, principal: { actor: `key:${BOOTSTRAP_ADMIN}`, kind: 'api-key', roles: ['admin'] } };
    const record = this.byHash.get(hash);
    if (!record) return { ok: false, problem: 'unknown API key' };
    if (record.revokedAt !== null) return { ok: false, problem: `API key "${record.name}" was revoked at ${new Date(record.revokedAt).toISOString()}` };
    return { ok: true, principal: { actor: `key:${record.name}`, kind: 'api-key', roles: [record.role as Role] } };
  }

  private liveKeys(): number {
    let live = 0;
    for (const record of this.byHash.values()) if (record.revokedAt === null) live++;
    return live;
  }

  private index(name: string, record: ApiKeyRecord | null): void {
    const previous = this.hashOf.get(name);
    if (previous !== undefined) this.byHash.delete(previous);
    this.hashOf.delete(name);
    if (record === null) return;
    const problem = record.name === name ? apiKeyProblem(record) : `its key "${name}" is not its name "${record.name}"`;
    if (problem !== null) {
      // a record fault: the key grants nothing, the rest of the topic still counts
      this.logger.warn(`api-keys: ignoring the record of "${name}": ${problem}`);
      return;
    }
    this.byHash.set(record.keyHash, record);
    this.hashOf.set(name, record.keyHash);
  }
}
