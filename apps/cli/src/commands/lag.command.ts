import { ConsumerGroupAdmin, fleetGroups, PartitionLag, resolveGroupId } from '@fleetstream/kafka';
import { Command } from 'commander';
import { CliContext, cliContext } from '../cli-context';
import { emit, formatSeconds, OutputOptions, table } from '../output';
import { positiveInt } from './simulate.command';

export interface LagOptions extends OutputOptions {
  /** Processor names (history, twins, commands) or raw group ids; default every processor group. */
  groups?: string[];
  /** Seconds between the two reads that give the rate and the time to catch up; 0 = one read. */
  sample?: number;
}

export interface GroupLag {
  group: string;
  state: string;
  members: number;
  totalLag: number;
  partitions: PartitionLag[];
}

/** Committed offset, end offset, lag and estimated time to catch up per group and partition. */
export async function lag(context: CliContext, options: LagOptions): Promise<GroupLag[]> {
  const groupIds = options.groups?.length
    ? options.groups.map((name) => resolveGroupId(context.config.TOPIC_PREFIX, name))
    : Object.values(fleetGroups(context.config.TOPIC_PREFIX));
  const admin = new ConsumerGroupAdmin(context.kafka);
  try {
    return await Promise.all(
      groupIds.map(async (group) => {
        const [members, topics] = await Promise.all([admin.members(group), admin.topicsOf(group)]);
        const partitions = await admin.lag(group, topics, (options.sample ?? 0) * 1000);
        return { group, state: members.state, members: members.members.length, totalLag: partitions.reduce((sum, p) => sum + p.lag, 0), partitions };
      }),
    );
  } finally {
    await admin.close();
  }
}

export function printLag(groups: readonly GroupLag[]): void {
  for (const group of groups) {
    console.log(`${group.group}  (${group.state}, ${group.members} member(s), lag ${group.totalLag})`);
    if (group.partitions.length === 0) {
      console.log('  no committed offsets yet');
      continue;
    }
    const rows = group.partitions.map((p) => [
      p.topic, p.partition, p.committed, p.high, p.lag,
      p.ratePerSecond === null ? null : `${Math.round(p.ratePerSecond)}/s`,
      p.lag === 0 ? 'caught up' : formatSeconds(p.catchUpSeconds),
    ]);
    console.log(table([['  topic', 'partition', 'committed', 'end', 'lag', 'rate', 'catch-up'], ...rows.map(([topic, ...rest]) => [`  ${topic}`, ...rest])]));
  }
}

export const lagCommand = new Command('lag')
  .description('per group and partition: committed offset, end offset, lag and the estimated time to catch up')
  .option('-g, --group <name...>', 'history, twins, commands or a raw group id (default: every processor group)')
  .option('--sample <seconds>', 'measure the consumption rate over this many seconds', positiveInt, 5)
  .option('--no-sample', 'one read, no rate or time to catch up')
  .option('--json', 'print JSON')
  .action(async (options: { group?: string[]; sample: number | false; json?: boolean }) => {
    const result = await lag(cliContext(), { groups: options.group, sample: options.sample === false ? 0 : options.sample, json: options.json });
    emit(result, options, printLag);
  });
