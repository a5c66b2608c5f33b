import { ConsumerGroupAdmin, fleetGroups } from '@fleetstream/kafka';
import { Command } from 'commander';
import { CliContext, cliContext } from '../cli-context';
import { applyTwinRebuild, planTwinRebuild, RebuildProgress } from '../operations/twin-rebuild';
import { emit, OutputOptions, Progress } from '../output';

export interface RebuildTwinsOptions extends OutputOptions {
  dryRun?: boolean;
  /** Rebuild while the twin processor runs: its concurrent updates may be overwritten by the rebuild's. */
  force?: boolean;
}

export interface RebuildTwinsResult {
  devices: number;
  unchanged: number;
  changed: string[];
  removed: string[];
  keptWithoutEvents: number;
  written: boolean;
  processorOffsetsMoved: boolean;
}

/** Recomputes the twin projection from retained telemetry and device events into fleet.twins. */
export async function rebuildTwins(context: CliContext, options: RebuildTwinsOptions): Promise<RebuildTwinsResult> {
  const groupId = fleetGroups(context.config.TOPIC_PREFIX).twinProcessor;
  if (!options.dryRun && !options.force) {
    const admin = new ConsumerGroupAdmin(context.kafka);
    try {
      await admin.waitUntilInactive(groupId);
    } finally {
      await admin.close();
    }
  }
  const bars = new Map<string, Progress>();
  const onProgress: RebuildProgress = (phase, done, total) => {
    const bar = bars.get(phase) ?? new Progress(phase, options);
    bars.set(phase, bar);
    bar.update(done, total);
    if (done >= total) bar.stop();
  };
  const plan = await planTwinRebuild(context, onProgress);
  const outcome = options.dryRun ? { offsetsMoved: false } : await applyTwinRebuild(context, plan, onProgress);
  for (const bar of bars.values()) bar.stop();
  return {
    devices: plan.folded,
    unchanged: plan.unchanged,
    changed: plan.changed.map((c) => c.deviceId),
    removed: plan.removed,
    keptWithoutEvents: plan.keptWithoutEvents,
    written: !options.dryRun,
    processorOffsetsMoved: outcome.offsetsMoved,
  };
}

export function printRebuild(result: RebuildTwinsResult): void {
  const verb = result.written ? '' : 'would be ';
  console.log(`folded ${result.devices} device(s) from retained telemetry and device events`);
  console.log(`  unchanged: ${result.unchanged}`);
  console.log(`  ${verb}rewritten: ${result.changed.length}${result.changed.length ? ` (${result.changed.slice(0, 10).join(', ')}${result.changed.length > 10 ? ', …' : ''})` : ''}`);
  console.log(`  ${verb}tombstoned (removed devices): ${result.removed.length}`);
  console.log(`  kept, events no longer retained: ${result.keptWithoutEvents}`);
  if (result.written) {
    console.log(result.processorOffsetsMoved ? 'twin processor group moved to where the rebuild stopped' : 'twin processor was running: its offsets were left as they are');
  }
}

export const rebuildCommand = new Command('rebuild')
  .description('recompute a projection from the retained events')
  .addCommand(
    new Command('twins')
      .description('recompute every twin from retained telemetry and device events into fleet.twins (readers keep serving); stop the twin processor first')
      .option('--dry-run', 'compare the rebuilt twins with fleet.twins and write nothing')
      .option('--force', 'rebuild while the twin processor runs (its concurrent updates may be overwritten)')
      .option('--json', 'print JSON')
      .action(async (options: RebuildTwinsOptions) => emit(await rebuildTwins(cliContext(), options), options, printRebuild)),
  );
