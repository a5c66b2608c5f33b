import { BeforeApplicationShutdown, Injectable, OnModuleInit } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter } from 'prom-client';
import { RECORDS } from './ingest.metrics';

const WINDOW_MS = 60_000;
const SAMPLE_MS = 5_000;

interface Sample {
  at: number;
  total: number;
}

/**
 * Telemetry records this instance's history writer consumed per second over the last minute, from
 * samples of its prom-client counter (every outcome: stored, dead-lettered, skipped as already stored).
 */
@Injectable()
export class IngestRate implements OnModuleInit, BeforeApplicationShutdown {
  private samples: Sample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(@InjectMetric(RECORDS) private readonly records: Counter<'outcome'>) {}

  onModuleInit(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), SAMPLE_MS).unref();
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /** Records per second between the oldest sample of the window and now; 0 before there are two samples. */
  async recordsPerSecond(): Promise<number> {
    const now = await this.sample();
    const oldest = this.samples[0];
    const seconds = (now.at - oldest.at) / 1000;
    return seconds > 0 ? (now.total - oldest.total) / seconds : 0;
  }

  private async sample(): Promise<Sample> {
    const { values } = await this.records.get();
    const sample = { at: Date.now(), total: values.reduce((sum, { value }) => sum + value, 0) };
    this.samples = [...this.samples.filter(({ at }) => at >= sample.at - WINDOW_MS), sample];
    return sample;
  }
}
