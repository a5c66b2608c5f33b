import { COMMAND_STATUSES } from '@fleetstream/domain';
import { makeGaugeProvider } from '@willsoto/nestjs-prometheus';
import type { Gauge } from 'prom-client';
import { CommandStateReadModel } from './command-state-read-model';

/** Commands by state, counted from the read model when Prometheus scrapes. */
export const commandsGauge = makeGaugeProvider({
  name: 'fleetstream_commands',
  help: 'Commands known to this instance, by state',
  labelNames: ['state'],
  inject: [CommandStateReadModel],
  collect(this: Gauge, readModel: unknown) {
    const counts = new Map(COMMAND_STATUSES.map((status) => [status, 0]));
    for (const [, state] of (readModel as CommandStateReadModel).all()) counts.set(state.status, (counts.get(state.status) ?? 0) + 1);
    for (const [state, count] of counts) this.set({ state }, count);
  },
});
