import { boundReplay, ConsumerGroupAdmin, OffsetChange, recordReplayBounds, ReplayBound, ReplayStart, resolveGroupId } from '@fleetstream/kafka';
import { Command, InvalidArgumentError, Option } from 'commander';
import { setTimeout as sleep } from 'node:timers/promises';
import { CliContext, cliContext } from '../cli-context';
import { emit, OutputOptions, Progress, table } from '../output';
import { positiveInt } from './simulate.command';

export interface ReplayOptions extends OutputOptions {
  group: string;
  topic: string;
  start: ReplayStart;
  /** Where the replay ends (exclusive); without it the group reads on to the end of the topic. */
  end?: Extract<ReplayStart, { kind: 'timestamp' | 'offsets' }>;
  dryRun?: boolean;
  /** Wait up to this long for the group's members to leave (a crashed member lingers until its session times out). */
  forceWaitMs?: number;
}

export interface ReplayResult {
  group: string;
  topic: string;
  applied: boolean;
  /** Records the group will read again. */
  toReprocess: number;
  changes: OffsetChange[];
  /** Per partition: where the replay ends and the group skips to its previous position. */
  bounds: ReplayBound[];
}

/** Moves a processor group on a topic to the beginning, a timestamp or explicit offsets. */
export async function replay(context: CliContext, options: ReplayOptions): Promise<ReplayResult> {
  const group = resolveGroupId(context.config.TOPIC_PREFIX, options.group);
  const admin = new ConsumerGroupAdmin(context.kafka);
  try {
    const planned = await admin.planReset(group, options.topic, options.start);
    const { changes, bounds } = options.end
      ? boundReplay(planned, await admin.planReset(group, options.topic, options.end))
      : { changes: planned, bounds: [] };
    const result = { group, topic: options.topic, applied: false, toReprocess: changes.reduce((sum, c) => sum + Math.max(0, c.delta), 0), changes, bounds };
    if (options.dryRun) return result;
    // every replay sets the group's bounds on the topic: the new ones, or none (an older bound must not cut this replay short)
    const partitions = planned.map((change) => change.partition);
    await recordReplayBounds(context.kafka, context.topics.replayBounds, group, options.topic, partitions, bounds);
    try {
      await admin.applyReset(group, changes, options.forceWaitMs ?? 0);
    } catch (error) {
      await recordReplayBounds(context.kafka, context.topics.replayBounds, group, options.topic, partitions, []);
      throw error;
    }
    return { ...result, applied: true };
  } finally {
    await admin.close();
  }
}

export function printReplay(result: ReplayResult): void {
  console.log(`${result.applied ? 'moved' : 'would move (dry run)'} ${result.group} on ${result.topic}; ${result.toReprocess} record(s) to read again`);
  const until = new Map(result.bounds.map((bound) => [bound.partition, `${bound.skipFrom}, then ${bound.resumeAt}`]));
  console.log(table([['partition', 'from', 'to', 'until', 'records'], ...result.changes.map((c) => [c.partition, c.from, c.to, until.get(c.partition) ?? 'end', c.delta])]));
}

/** Shows the group reading the replayed records until it is caught up again. */
async function follow(context: CliContext, result: ReplayResult, options: OutputOptions): Promise<void> {
  const admin = new ConsumerGroupAdmin(context.kafka);
  const progress = new Progress(`replay ${result.group}`, options);
  try {
    for (;;) {
      const remaining = (await admin.lag(result.group, [result.topic])).reduce((sum, p) => sum + p.lag, 0);
      const total = Math.max(result.toReprocess, remaining);
      progress.update(total - remaining, total);
      if (remaining === 0) return;
      await sleep(1000);
    }
  } finally {
    progress.stop();
    await admin.close();
  }
}

/** "0=120,1=80": offsets per partition. */
export function parsePartitionOffsets(value: string): Map<number, string> {
  const offsets = new Map<number, string>();
  for (const entry of value.split(',')) {
    const match = /^\s*(\d+)\s*[=:]\s*(\d+)\s*$/.exec(entry);
    if (!match) throw new InvalidArgumentError(`expected partition=offset pairs like "0=120,1=80", got "${entry}"`);
    offsets.set(Number(match[1]), match[2]!);
  }
  return offsets;
}

export function parseTimestamp(value: string): number {
  const at = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(at)) throw new InvalidArgumentError(`expected an ISO 8601 time (2026-11-23T10:00:00Z) or epoch milliseconds, got "${value}"`);
  return at;
}

export const replayCommand = new Command('replay')
  .description("move a processor's consumer group on a topic so it reads records again (idempotent: history gets no duplicates, twins end the same)")
  .requiredOption('-g, --group <name>', 'history, twins, commands or a raw group id')
  .option('-t, --topic <topic>', 'topic to replay (default: the telemetry topic)')
  .addOption(new Option('--from-beginning', 'from the first retained record').conflicts(['fromTimestamp', 'toOffsets']))
  .addOption(new Option('--from-timestamp <time>', 'from the first record at or after this time (ISO 8601 or epoch ms)').argParser(parseTimestamp).conflicts('toOffsets'))
  .addOption(new Option('--to-offsets <partition=offset,...>', 'to these offsets (other partitions unchanged)').argParser(parsePartitionOffsets))
  .addOption(
    new Option('--until-timestamp <time>', 'read again only records before this time, then go on where the group was').argParser(parseTimestamp).conflicts('untilOffsets'),
  )
  .addOption(new Option('--until-offsets <partition=offset,...>', 'read again only up to these offsets (exclusive), then go on where the group was').argParser(parsePartitionOffsets))
  .option('--dry-run', 'show what would change and change nothing')
  .option('--force', 'wait for the group to become inactive (a crashed member lingers until its session times out) instead of refusing')
  .option('--force-wait <seconds>', 'how long --force waits', positiveInt, 60)
  .option('--follow', 'after moving, show the group reading the records again until it is caught up')
  .option('--json', 'print JSON')
  .action(async (options: {
    group: string; topic?: string; fromBeginning?: boolean; fromTimestamp?: number; toOffsets?: Map<number, string>;
    untilTimestamp?: number; untilOffsets?: Map<number, string>; dryRun?: boolean; force?: boolean; forceWait: number; follow?: boolean; json?: boolean;
  }) => {
    const start: ReplayStart | undefined = options.fromBeginning
      ? { kind: 'beginning' }
      : options.fromTimestamp !== undefined
        ? { kind: 'timestamp', at: options.fromTimestamp }
        : options.toOffsets
          ? { kind: 'offsets', offsets: options.toOffsets }
          : undefined;
    if (!start) throw new Error('say where to replay from: --from-beginning, --from-timestamp <time> or --to-offsets <partition=offset,...>');
    const context = cliContext();
    const result = await replay(context, {
      group: options.group,
      topic: options.topic ?? context.topics.telemetry,
      start,
      end:
        options.untilTimestamp !== undefined
          ? { kind: 'timestamp', at: options.untilTimestamp }
          : options.untilOffsets
            ? { kind: 'offsets', offsets: options.untilOffsets }
            : undefined,
      dryRun: options.dryRun,
      forceWaitMs: options.force ? options.forceWait * 1000 : 0,
      json: options.json,
    });
    emit(result, options, printReplay);
    if (options.follow && result.applied) await follow(context, result, options);
  });
