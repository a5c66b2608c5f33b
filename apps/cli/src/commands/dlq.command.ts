import { telemetryRules } from '@fleetstream/config';
import { NOTIFICATION_DEAD_LETTER_REASONS, Telemetry, TELEMETRY_REJECTION_REASONS } from '@fleetstream/domain';
import { DeadLetteredRecord, deadLetterPosition, DeadLetterQueue, DeadLetterSelection, NOTIFICATION_HEADERS, RedriveOutcome, selectDeadLetters } from '@fleetstream/kafka';
import { AlertEventRecord, readAvroSchema, readTelemetry, RegistryCodec, RegistryUnavailableError } from '@fleetstream/serde';
import { Command, Option } from 'commander';
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
  /** The notifications queue: the webhook sink (its id) that did not take it. */
  sink?: string;
  /** Telemetry: the reading, when the record would pass every telemetry rule if re-driven now. Notifications: the alert event. */
  decoded: Telemetry | AlertEventRecord | null;
  /** Why it would be dead-lettered again now (it may pass after a fix, e.g. a registered schema). */
  decodeError: string | null;
  headers?: Record<string, string>;
}

/** Which dead-letter topic: telemetry records (the default) or alert notifications a webhook did not take. */
export type DeadLetterQueueName = 'telemetry' | 'notifications';
export const DEAD_LETTER_QUEUES: readonly DeadLetterQueueName[] = ['telemetry', 'notifications'];

export interface QueueOption {
  queue?: DeadLetterQueueName;
}

function queue(context: CliContext, name: DeadLetterQueueName = 'telemetry'): DeadLetterQueue {
  const { topics, config } = context;
  return name === 'notifications'
    ? // re-driven to the notifiers' own topic, not fleet.alerts: only the sink that missed it sends it again
      new DeadLetterQueue(context.kafka, { dlq: topics.alertNotificationsDlq, ledger: topics.alertNotificationsDlqRedriven, redrive: topics.alertNotificationsRedrive }, `${config.TOPIC_PREFIX}.notifications`)
    : new DeadLetterQueue(context.kafka, { dlq: topics.telemetryDlq, ledger: topics.telemetryDlqRedriven }, config.TOPIC_PREFIX);
}

type Decoded = { decoded: DeadLetterView['decoded']; decodeError: string | null };

/** How a queue's values read: telemetry through the service's own rules, notifications as alert events. */
function decoderFor(context: CliContext, name: DeadLetterQueueName = 'telemetry'): (record: DeadLetteredRecord) => Promise<Decoded> {
  if (name === 'notifications') {
    const codec = new RegistryCodec<AlertEventRecord>(context.registry, readAvroSchema('alert-event'));
    return async (record) => {
      const result = await codec.decode(record.value);
      return result.ok ? { decoded: result.value, decodeError: null } : { decoded: null, decodeError: `${result.rejection.reason}: ${result.rejection.error}` };
    };
  }
  const codec = new RegistryCodec<Telemetry>(context.registry, readAvroSchema('telemetry'));
  const rules = telemetryRules(context.config);
  return async (record) => {
    // the service's own path and rules; a re-driven record is stamped with the time it is sent, hence now
    const result = await readTelemetry(codec, { key: record.key, value: record.value, timestamp: Date.now() }, rules);
    return result.ok ? { decoded: result.value, decodeError: null } : { decoded: null, decodeError: `${result.rejection.reason}: ${result.rejection.error}` };
  };
}

async function view(record: DeadLetteredRecord, decode: (record: DeadLetteredRecord) => Promise<Decoded>, withHeaders: boolean): Promise<DeadLetterView> {
  let decoded: Decoded;
  try {
    decoded = await decode(record);
  } catch (error) {
    if (!(error instanceof RegistryUnavailableError)) throw error;
    decoded = { decoded: null, decodeError: error.message };
  }
  const sink = record.originalHeaders[NOTIFICATION_HEADERS.sink];
  return {
    position: deadLetterPosition(record),
    reason: record.reason,
    error: record.error,
    source: record.source ? `${record.source.topic}/${record.source.partition}@${record.source.offset}` : null,
    key: record.key?.toString('utf8') ?? null,
    failedAt: record.failedAt,
    redriven: record.redriven,
    bytes: record.value?.length ?? 0,
    ...(sink !== undefined && { sink: String(sink) }),
    ...decoded,
    ...(withHeaders
      ? { headers: Object.fromEntries(Object.entries(record.originalHeaders).map(([name, value]) => [name, String(value)])) }
      : {}),
  };
}

async function selected(context: CliContext, selection: DeadLetterSelection, options: OutputOptions & QueueOption): Promise<DeadLetteredRecord[]> {
  const progress = new Progress('read dlq', options);
  try {
    return selectDeadLetters(await queue(context, options.queue).list((done, total) => progress.update(done, total)), selection);
  } finally {
    progress.stop();
  }
}

/** Dead letters matching the selection, decoded where possible. */
export async function listDeadLetters(context: CliContext, selection: DeadLetterSelection, options: OutputOptions & QueueOption & { headers?: boolean }): Promise<DeadLetterView[]> {
  const decode = decoderFor(context, options.queue);
  const records = await selected(context, selection, options);
  return Promise.all(records.map((record) => view(record, decode, options.headers ?? false)));
}

export interface RedriveResult extends RedriveOutcome {
  selected: number;
  dryRun: boolean;
}

/** Re-drives the selected dead letters (telemetry to its source topic, notifications to their sink); each at most once across runs. */
export async function redriveDeadLetters(context: CliContext, selection: DeadLetterSelection, options: OutputOptions & QueueOption & { dryRun?: boolean }): Promise<RedriveResult> {
  const records = await selected(context, selection, options);
  if (options.dryRun) {
    const due = records.filter((r) => r.source && !r.redriven).length;
    return { selected: records.length, dryRun: true, redriven: due, alreadyRedriven: records.filter((r) => r.redriven).length, withoutSource: records.filter((r) => !r.source).length };
  }
  const progress = new Progress('re-drive', options);
  try {
    const outcome = await queue(context, options.queue).redrive(records, (done, total) => progress.update(done, total));
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
    ['position', 'reason', 'source', ...(views.some((v) => v.sink) ? ['sink'] : []), 'key', 'failed at', 'redriven', 'decodes now'],
    ...views.map((v) => [
      v.position, v.reason, v.source, ...(views.some((w) => w.sink) ? [v.sink ?? null] : []), v.key, v.failedAt, v.redriven ? 'yes' : 'no',
      v.decoded ? 'yes' : clip(v.decodeError ?? '', 60),
    ]),
  ]));
  console.log(`${views.length} dead letter(s)`);
}

function printRedrive(result: RedriveResult): void {
  console.log(
    `${result.dryRun ? 'would re-drive' : 're-drove'} ${result.redriven} of ${result.selected} selected dead letter(s); ` +
      `${result.alreadyRedriven} already re-driven earlier (skipped), ${result.withoutSource} without source headers (cannot be re-driven)`,
  );
}

interface SelectionFlags extends OutputOptions, QueueOption {
  reason?: string[];
  sourceTopic?: string;
  position?: string[];
}

function selectionOf(flags: SelectionFlags): DeadLetterSelection {
  return { reasons: flags.reason, sourceTopic: flags.sourceTopic, positions: flags.position };
}

function withQueue(command: Command): Command {
  return command.addOption(
    new Option('--queue <queue>', 'telemetry: records the service refused; notifications: alert notifications a webhook did not take').choices(DEAD_LETTER_QUEUES).default('telemetry'),
  );
}

function withSelection(command: Command): Command {
  return withQueue(command)
    .option('--reason <reason...>', `only these reasons: ${TELEMETRY_REJECTION_REASONS.join(', ')} (telemetry); ${NOTIFICATION_DEAD_LETTER_REASONS.join(', ')} (notifications)`)
    .option('--source-topic <topic>', 'only records dead-lettered from this topic')
    .option('--position <partition:offset...>', 'only these positions on the dead-letter topic')
    .option('--json', 'print JSON');
}

export const dlqCommand = new Command('dlq')
  .description('dead letters (telemetry, or alert notifications with --queue notifications): list, inspect, re-drive after a fix')
  .addCommand(
    withSelection(new Command('list').description('dead letters with reason, source and whether they decode now')).action(async (flags: SelectionFlags) =>
      emit(await listDeadLetters(cliContext(), selectionOf(flags), flags), flags, printList),
    ),
  )
  .addCommand(
    withQueue(new Command('inspect'))
      .description('one dead letter in full: headers, error, the value decoded where possible')
      .argument('<position>', 'partition:offset on the dead-letter topic (see dlq list)')
      .option('--json', 'print JSON')
      .action(async (position: string, flags: OutputOptions & QueueOption) => {
        const [found] = await listDeadLetters(cliContext(), { positions: [position] }, { ...flags, headers: true });
        if (!found) throw new Error(`no dead letter at ${position}; "fleetstream dlq list" shows the positions`);
        console.log(JSON.stringify(found, null, 2));
      }),
  )
  .addCommand(
    withSelection(
      new Command('redrive').description('send the selected dead letters back (telemetry to its source topic and partition, a notification to its sink), each at most once'),
    )
      .option('--all', 'every dead letter (required when no --reason, --source-topic or --position is given)')
      .option('--dry-run', 'count what would be re-driven')
      .action(async (flags: SelectionFlags & { all?: boolean; dryRun?: boolean }) => {
        if (!flags.all && !flags.reason && !flags.sourceTopic && !flags.position) {
          throw new Error('say which dead letters to re-drive: --reason, --source-topic, --position, or --all');
        }
        emit(await redriveDeadLetters(cliContext(), selectionOf(flags), flags), flags, printRedrive);
      }),
  );
