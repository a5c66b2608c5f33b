import type { GroupMembers } from '@fleetstream/kafka';
import type { AppConfig } from '../infrastructure/fleetstream.config';

/**
 * Where this instance's history reads are answered. With HISTORY_TRANSPORT=server every instance
 * reads the shared ClickHouse. With chdb each process has its own embedded ClickHouse, holding what
 * its history processor wrote: only the instance that runs it can answer, the others forward to
 * HISTORY_URL, or refuse (503) when it is not set.
 */
export type HistoryReads = { kind: 'local' } | { kind: 'forward'; url: string } | { kind: 'refuse'; message: string };

export function historyReads(config: Pick<AppConfig, 'HISTORY_TRANSPORT' | 'PROCESSORS' | 'HISTORY_URL'>): HistoryReads {
  if (config.HISTORY_TRANSPORT === 'server' || config.PROCESSORS.includes('history')) return { kind: 'local' };
  if (config.HISTORY_URL !== undefined) return { kind: 'forward', url: config.HISTORY_URL.replace(/\/+$/, '') };
  return {
    kind: 'refuse',
    message:
      'this instance does not run the history processor (PROCESSORS) and its embedded ClickHouse (HISTORY_TRANSPORT=chdb) holds no history: ' +
      'set HISTORY_URL to the instance that runs it, or ask that instance',
  };
}

/** Whether this instance must be the only history writer: the chdb one, which alone holds the history it writes. */
export function mustWriteAlone(config: Pick<AppConfig, 'HISTORY_TRANSPORT' | 'PROCESSORS'>): boolean {
  return config.HISTORY_TRANSPORT === 'chdb' && config.PROCESSORS.includes('history');
}

/**
 * Members of the history writer's group that count: those of a settled group. While the group
 * rebalances, a crashed predecessor still shows until its session times out, next to its
 * restarted self; that is one writer, not two. Undefined: nothing to conclude from this look.
 */
export function settledWriters({ state, members }: GroupMembers): number | undefined {
  if (state === 'Stable' || state === 'Empty' || state === 'Dead') return members.length;
  return undefined;
}

/** Why history reads are incomplete when a chdb history writer shares its group, or null when it does not. */
export function splitHistoryProblem(group: string, { members }: Pick<GroupMembers, 'members'>): string | null {
  if (members.length <= 1) return null;
  const who = members.map(({ clientId, clientHost }) => `${clientId}@${clientHost}`).join(', ');
  return (
    `the history consumer group ${group} has ${members.length} members (${who}): with HISTORY_TRANSPORT=chdb each stores only the ` +
    'partitions it consumes, so every instance misses the history of the others. Run the history processor on one instance only ' +
    '(PROCESSORS without history on the others, with HISTORY_URL pointing at it), or share one ClickHouse (HISTORY_TRANSPORT=server)'
  );
}
