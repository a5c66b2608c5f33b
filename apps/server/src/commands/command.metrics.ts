import { COMMAND_STATUSES } from '@fleetstream/domain';
import { Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { Gauge, register } from 'prom-client';
import { CommandStateReadModel } from './command-state-read-model';

const COMMANDS = 'fleetstream_commands';

/** Commands by state, counted from the read model when Prometheus scrapes. */
@Injectable()
export class CommandMetrics implements OnModuleInit, OnModuleDestroy {
  constructor(private readonly commands: CommandStateReadModel) {}

  onModuleInit(): void {
    const commands = this.commands;
    new Gauge({
      name: COMMANDS,
      help: 'Commands known to this instance, by state',
      labelNames: ['state'],
      registers: [register],
      collect() {
        const counts = new Map(COMMAND_STATUSES.map((status) => [status, 0]));
        for (const [, state] of commands.all()) counts.set(state.status, (counts.get(state.status) ?? 0) + 1);
        for (const [state, count] of counts) this.set({ state }, count);
      },
    });
  }

  onModuleDestroy(): void {
    register.removeSingleMetric(COMMANDS);
  }
}
