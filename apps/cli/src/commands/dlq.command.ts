import { telemetryRules } from '@fleetstream/config';
import { Telemetry, TELEMETRY_REJECTION_REASONS } from '@fleetstream/domain';
import { DeadLetteredRecord, deadLetterPosition, DeadLetterQueue, DeadLetterSelection, RedriveOutcome, selectDeadLetters } from '@fleetstream/kafka';
import { readAvroSchema, readTelemetry, RegistryCodec, RegistryUnavailableError, TelemetryRules } from '@fleetstream/serde';
import { Command } from 'commander';
import { CliContext, cliContext } from '../cli-context';
import { emit, OutputOptions, Progress, table } from '../output';

/** A dead letter as operators read it: headers, and the value decoded where the registry can. */
export interface DeadLetterView {
  position: string;
  reason: string;
  error: string;
  source: string | null;
  key: string | null;
  failedAt: string | null;
  redriven: boolean;
  bytes: number;
  /** The reading, when the record would pass every telemetry rule if re-driven now. */
  decoded: Telemetry | null;
  /** Why it would be dead-lettered again now (it may pass after a fix, e.g. a registered schema). */
  decodeError: string | null;
  headers?: Record<string, string>;
}

function queue(context: CliContext): DeadLetterQueue {
  return new DeadLetterQueue(context.kafka, { dlq: context.topics.telemetryDlq, ledger: context.topics.telemetryDlqRedriven }, context.config.TOPIC_PREFIX);
}

async function view(record: DeadLetteredRecord, codec: RegistryCodec<Telemetry>, rules: TelemetryRules, withHeaders: boolean): Promise<DeadLetterView> {
  let decoded: Telemetry | null = null;
  let decodeError: string | null = null;
  try {
    // the service's own path and rules; a re-driven record is stamped with the time it is sent, hence now
    const result = await readTelemetry(codec, { key: record.key, value: record.value, timestamp: Date.now() }, rules);
    if (result.ok) decoded = result.value;
    else decodeError = `${result.rejection.reason}: ${result.rejection.error}`;
  } catch (error) {
    if (!(error instanceof RegistryUnavailableError)) throw error;
    decodeError = error.message;
  }
  return {
    position: deadLetterPosition(record),
    reason: record.reason,
    error: record.error,
    source: record.source ? `${record.source.topic}/${record.source.partition}@${record.source.offset}` : null,
    key: record.key?.toString('utf8') ?? null,
    failedAt: record.failedAt,
    redriven: record.redriven,
    bytes: record.value?.length ?? 0,
    decoded,
    decodeError,
    ...(withHeaders
      ? { headers: Object.fromEntries(Object.entries(record.originalHeaders).map(([name, value]) => [name, String(value)])) }
      : {}),
  };
}

async function selected(context: CliContext, selection: DeadLetterSelection, options: OutputOptions): Promise<DeadLetteredRecord[]> {
  const progress = new Progress('read dlq', options);
  try {
    return selectDeadLetters(await queue(context).list((done, total) => progress.update(done, total)), selection);
  } finally {
    progress.stop();
  }
}

/** Dead letters matching the selection, decoded where possible. */
export async function listDeadLetters(context: CliContext, selection: DeadLetterSelection, options: OutputOptions & { headers?: boolean }): Promise<DeadLetterView[]> {
  const codec = new RegistryCodec<Telemetry>(context.registry, readAvroSchema('telemetry'));
  const records = await selected(context, selection, options);
  const rules = telemetryRules(context.config);
  return Promise.all(records.map((record) => view(record, codec, rules, options.headers ?? false)));
}

export interface RedriveResult extends RedriveOutcome {
  selected: number;
  dryRun: boolean;
}

/** Re-drives the selected dead letters to their source topic; each at most once across runs. */
export async function redriveDeadLetters(context: CliContext, selection: DeadLetterSelection, options: OutputOptions & { dryRun?: boolean }): Promise<RedriveResult> {
  const records = await selected(context, selection, options);
  if (options.dryRun) {
    const due = records.filter((r) => r.source && !r.redriven).length;
    return { selected: records.length, dryRun: true, redriven: due, alreadyRedriven: records.filter((r) => r.redriven).length, withoutSource: records.filter((r) => !r.source).length };
  }
  const progress = new Progress('re-drive', options);
  try {
    const outcome = await queue(context).redrive(records, (done, total) => progress.update(done, total));
    return { selected: records.length, dryRun: false, ...outcome };
  } finally {
    progress.stop();
  }
}

function printList(views: readonly DeadLetterView[]): void {
  if (views.length === 0) {
    console.log('no dead letters match');
    return;
  }
  const clip = (text: string, length: number) => (text.length > length ? `${text.slice(0, length - 1)}…` : text);
  console.log(table([
    ['position', 'reason', 'source', 'key', 'failed at', 'redriven', 'decodes now'],
    ...views.map((v) => [v.position, v.reason, v.source, v.key, v.failedAt, v.redriven ? 'yes' : 'no', v.decoded ? 'yes' : clip(v.decodeError ?? '', 60)]),
  ]));
  console.log(`${views.length} dead letter(s)`);
}

function printRedrive(result: RedriveResult): void {
  console.log(
    `${result.dryRun ? 'would re-drive' : 're-drove'} ${result.redriven} of ${result.selected} selected dead letter(s); ` +
      `${result.alreadyRedriven} already re-driven earlier (skipped), ${result.withoutSource} without source headers (cannot be re-driven)`,
  );
}

interface SelectionFlags extends OutputOptions {
  reason?: string[];
  sourceTopic?: string;
  position?: string[];
}

function selectionOf(flags: SelectionFlags): DeadLetterSelection {
  return { reasons: flags.reason, sourceTopic: flags.sourceTopic, positions: flags.position };
}

function withSelection(command: Command): Command {
  return command
    .option('--reason <reason...>', `only these reasons: ${TELEMETRY_REJECTION_REASONS.join(', ')}`)
    .option('--source-topic <topic>', 'only records dead-lettered from this topic')
    .option('--position <partition:offset...>', 'only these positions on the dead-letter topic')
    .option('--json', 'print JSON');
}

export const dlqCommand = new Command('dlq')
  .description('dead-lettered telemetry: list, inspect, re-drive after a fix')
  .addCommand(
    withSelection(new Command('list').description('dead letters with reason, source and whether they decode now')).action(async (flags: SelectionFlags) =>
      emit(await listDeadLetters(cliContext(), selectionOf(flags), flags), flags, printList),
    ),
  )
  .addCommand(
    new Command('inspect')
      .description('one dead letter in full: headers, error, the value decoded where possible')
      .argument('<position>', 'partition:offset on the dead-letter topic (see dlq list)')
      .option('--json', 'print JSON')
      .action(async (position: string, flags: OutputOptions) => {
        const [found] = await listDeadLetters(cliContext(), { positions: [position] }, { ...flags, headers: true });
        if (!found) throw new Error(`no dead letter at ${position}; "fleetstream dlq list" shows the positions`);
        console.log(JSON.stringify(found, null, 2));
      }),
  )
  .addCommand(
    withSelection(new Command('redrive').description('send the selected dead letters back to their source topic and partition, each at most once'))
      .option('--all', 'every dead letter (required when no --reason, --source-topic or --position is given)')
      .option('--dry-run', 'count what would be re-driven')
      .action(async (flags: SelectionFlags & { all?: boolean; dryRun?: boolean }) => {
        if (!flags.all && !flags.reason && !flags.sourceTopic && !flags.position) {
          throw new Error('say which dead letters to re-drive: --reason, --source-topic, --position, or --all');
        }
        emit(await redriveDeadLetters(cliContext(), selectionOf(flags), flags), flags, printRedrive);
      }),
  );
