import type { ClickHouseTransport } from '@fleetstream/history';
import { Inject, Injectable } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { Kafka } from 'kafkajs';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { CLICKHOUSE, KAFKA } from '../infrastructure/tokens';
import { TwinReadModel } from '../twins/twin-read-model';
import { TwinProcessor } from '../twins/twin.processor';

/** Reachability of the service's dependencies, as Terminus health indicators. */
@Injectable()
export class DependenciesHealth {
  constructor(
    private readonly indicators: HealthIndicatorService,
    @Inject(fleetstreamConfig.KEY) private readonly config: AppConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @Inject(CLICKHOUSE) private readonly clickhouse: ClickHouseTransport,
    private readonly twinReadModel: TwinReadModel,
    private readonly twinProcessor: TwinProcessor,
  ) {}

  /** Twins restored from fleet.twins: the read model since startup, and every partition the processor was assigned. */
  partitionsRestored() {
    const check = this.indicators.check('partitionsRestored');
    const processor = this.twinProcessor.restoration();
    const pending = processor.assigned.filter((partition) => !processor.restored.includes(partition));
    const details = { readModel: this.twinReadModel.restored, twins: this.twinReadModel.size, assigned: processor.assigned, restored: processor.restored };
    if (!this.twinReadModel.restored) return check.down({ ...details, message: 'the twin read model is still reading fleet.twins' });
    if (pending.length > 0) return check.down({ ...details, message: `twins of partitions ${pending.join(', ')} are still being restored` });
    return check.up(details);
  }

  async kafkaBrokers() {
    const check = this.indicators.check('kafka');
    const admin = this.kafka.admin({ retry: { retries: 0 } });
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return check.up({ brokers: cluster.brokers.length });
    } catch (error) {
      return check.down({ message: `brokers ${this.config.KAFKA_BROKERS.join(',')} unreachable: ${(error as Error).message}` });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  async schemaRegistry() {
    const check = this.indicators.check('schemaRegistry');
    try {
      const response = await fetch(`${this.config.SCHEMA_REGISTRY_URL}/subjects`, { signal: AbortSignal.timeout(2000) });
      return response.ok ? check.up() : check.down({ message: `HTTP ${response.status}` });
    } catch (error) {
      return check.down({ message: `${this.config.SCHEMA_REGISTRY_URL} unreachable: ${(error as Error).message}` });
    }
  }

  async clickHouse() {
    const check = this.indicators.check('clickhouse');
    try {
      await this.clickhouse.ping();
      return check.up({ transport: this.clickhouse.description });
    } catch (error) {
      return check.down({ message: (error as Error).message });
    }
  }
}
