import { readTopicsToEnd } from '@fleetstream/kafka';
import { CommandEventRecord, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import type { TestStack } from './test-stack';

export const TERMINAL_EVENTS = ['succeeded', 'failed', 'rejected', 'timed_out', 'expired', 'cancelled'];

/** Every command's event types (lower case) as fleet.commands itself holds them (committed transactions only), in the order written. */
export async function commandEventsOnTopic(stack: TestStack): Promise<Map<string, string[]>> {
  const codec = new RegistryCodec<CommandEventRecord>(stack.registry, readAvroSchema('command-event'));
  const byCommand = new Map<string, string[]>();
  const read = async (records: { value: Buffer | null; partition: number; offset: string }[]) => {
    // one device's commands share a key, so a command's events are in one partition, in order
    for (const record of records) {
      const decoded = await codec.decode(record.value);
      if (!decoded.ok) throw new Error(`${stack.topics.commands}/${record.partition}@${record.offset}: ${decoded.rejection.error}`);
      const { commandId, type } = decoded.value;
      byCommand.set(commandId, [...(byCommand.get(commandId) ?? []), type.toLowerCase()]);
    }
  };
  await readTopicsToEnd(stack.kafka, [stack.topics.commands], read, { groupPrefix: `${stack.config.TOPIC_PREFIX}.check`, timeoutMs: 30_000 });
  return byCommand;
}

/** The commands (with their events) that do not end in exactly one terminal event, the last one. */
export function notEndedOnce(onTopic: Map<string, string[]>): [string, string[]][] {
  return [...onTopic].filter(([, types]) => types.filter((type) => TERMINAL_EVENTS.includes(type)).length !== 1 || !TERMINAL_EVENTS.includes(types.at(-1)!));
}
