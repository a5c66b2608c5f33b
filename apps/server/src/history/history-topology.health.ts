import { ConsumerGroupAdmin, fleetGroups } from '@fleetstream/kafka';
import { BeforeApplicationShutdown, Inject, Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { HealthIndicatorService } from '@nestjs/terminus';
import { InjectMetric, makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import { Kafka } from 'kafkajs';
import type { Gauge } from 'prom-client';
import { ReadinessChecks } from '../health/readiness-checks';
import { AppConfig, fleetstreamConfig } from '../infrastructure/fleetstream.config';
import { KAFKA } from '../infrastructure/tokens';
import { mustWriteAlone, settledWriters, splitHistoryProblem } from './history-topology';

const HISTORY_WRITERS = 'fleetstream_history_writers';
/** How often the history writer's group is described; also the delay of the first look. */
const LOOK_EVERY_MS = 5000;

export const historyWritersGauge = makeGaugeProvider({
  name: HISTORY_WRITERS,
  help: 'Members of the history writer\'s consumer group, as the history processor of this instance last saw them settled (0 where it does not run); with HISTORY_TRANSPORT=chdb anything but 1 splits history between instances',
});

/**
 * With HISTORY_TRANSPORT=chdb the history processor must consume every telemetry partition: a second
 * instance running it takes some, stores them in its own embedded ClickHouse, and both then answer
 * history reads with holes. It is not forbidden outright (a rolling restart briefly runs two), it is
 * made loud: /ready fails on every such instance, naming the settings, and the gauge shows the count.
 */
@Injectable()
export class HistoryTopologyHealth implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger(HistoryTopologyHealth.name);
  private readonly group: string;
  private admin: ConsumerGroupAdmin | undefined;
  private timer: NodeJS.Timeout | undefined;
  private looking: Promise<void> | undefined;
  private stopping = false;
  private problem: string | null = null;
  private lookFailing = false;

  constructor(
    @Inject(fleetstreamConfig.KEY) private readonly config: AppConfig,
    @Inject(KAFKA) private readonly kafka: Kafka,
    @InjectMetric(HISTORY_WRITERS) private readonly writers: Gauge,
    indicators: HealthIndicatorService,
    readiness: ReadinessChecks,
  ) {
    this.group = fleetGroups(config.TOPIC_PREFIX).history;
    readiness.add(() => {
      const check = indicators.check('history-topology');
      if (!mustWriteAlone(this.config)) return check.up({ note: 'one history writer is required with HISTORY_TRANSPORT=chdb only, where PROCESSORS includes history' });
      return this.problem ? check.down({ message: this.problem }) : check.up({ group: this.group });
    });
  }

  onApplicationBootstrap(): void {
    if (!this.config.PROCESSORS.includes('history')) return;
    this.admin = new ConsumerGroupAdmin(this.kafka);
    this.timer = setInterval(() => {
      // one look at a time, and none after shutdown began: a look on a closed admin would connect it again
      if (this.stopping || this.looking) return;
      this.looking = this.look().finally(() => (this.looking = undefined));
    }, LOOK_EVERY_MS);
    this.timer.unref();
  }

  private async look(): Promise<void> {
    try {
      const members = await this.admin!.members(this.group);
      if (this.lookFailing) this.logger.log(`history consumer group ${this.group} described again`);
      this.lookFailing = false;
      const writers = settledWriters(members);
      if (writers === undefined) return; // rebalancing: keep the last verdict
      this.writers.set(writers);
      if (!mustWriteAlone(this.config)) return;
      const problem = splitHistoryProblem(this.group, members);
      if (problem && !this.problem) this.logger.error(problem);
      if (!problem && this.problem) this.logger.log(`history consumer group ${this.group} has one member again`);
      this.problem = problem;
    } catch (error) {
      // Kafka unreachable: the consumer's own readiness says so; the last verdict stays
      if (!this.lookFailing) this.logger.warn(`history consumer group ${this.group} not described: ${(error as Error).message}`);
      this.lookFailing = true;
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.looking;
    await this.admin?.close();
  }
}
