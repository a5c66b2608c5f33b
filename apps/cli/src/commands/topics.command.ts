import { ensureTopics, fleetTopicDefinitions, repairTopicConfigs, TopicDrift, topicDrift } from '@fleetstream/kafka';
import { Command } from 'commander';
import { CliContext, cliContext } from '../cli-context';
import { emit, OutputOptions } from '../output';

export interface TopicsOptions extends OutputOptions {
  /** Set drifted configs back to the definitions. */
  fixConfigs?: boolean;
}

export interface TopicsResult {
  created: string[];
  repaired: string[];
  topics: TopicDrift[];
  /** Drift left after this run (partition counts are never changed automatically). */
  drifted: boolean;
}

/** Creates missing topics and reports (optionally repairs) how existing ones differ from their definitions. */
export async function topics(context: CliContext, options: TopicsOptions): Promise<TopicsResult> {
  const definitions = fleetTopicDefinitions(context.topics, context.config.TELEMETRY_PARTITIONS);
  const created = await ensureTopics(context.kafka, definitions);
  let drift = await topicDrift(context.kafka, definitions);
  let repaired: string[] = [];
  if (options.fixConfigs && drift.some((d) => d.configs.length > 0)) {
    repaired = drift.filter((d) => d.configs.length > 0).map((d) => d.topic);
    await repairTopicConfigs(context.kafka, drift);
    drift = await topicDrift(context.kafka, definitions);
  }
  return { created, repaired, topics: drift, drifted: drift.some((d) => d.missing || d.partitions !== null || d.configs.length > 0) };
}

export function printTopics(result: TopicsResult): void {
  for (const topic of result.topics) {
    const problems = [
      ...(topic.partitions ? [`${topic.partitions.actual} partitions, expected ${topic.partitions.expected} (not changed automatically: more partitions move keys; recreate the topic or set TELEMETRY_PARTITIONS=${topic.partitions.actual})`] : []),
      ...topic.configs.map((c) => `${c.name}=${c.actual ?? '(unset)'}, expected ${c.expected} (fleetstream topics --fix-configs sets it)`),
    ];
    const status = result.created.includes(topic.topic) ? 'created ' : result.repaired.includes(topic.topic) ? 'repaired' : problems.length ? 'DRIFT   ' : 'ok      ';
    console.log(`${status} ${topic.topic}${problems.length ? `: ${problems.join('; ')}` : ''}`);
  }
}

export const topicsCommand = new Command('topics')
  .description('create missing fleetstream topics with their partitions and policies; report drift from the expected configuration (exit code 3)')
  .option('--fix-configs', 'set drifted topic configs (cleanup.policy, retention.ms) back to the expected values')
  .option('--json', 'print JSON')
  .action(async (options: { fixConfigs?: boolean; json?: boolean }) => {
    const result = await topics(cliContext(), options);
    emit(result, options, printTopics);
    if (result.drifted) process.exitCode = 3;
  });
