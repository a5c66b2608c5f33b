import { AssignerProtocol, PartitionAssigner } from 'kafkajs';

export const CO_PARTITIONED_ASSIGNER = 'fleetstream-co-partitioned';

/**
 * Gives each member whole partition numbers: partition p of every subscribed topic goes to the same
 * member (Kafka Streams' co-partitioning), so a processor that keys several topics by device id sees
 * all of one device's records. kafkajs' round-robin assigner spreads topic-partitions independently.
 */
export const coPartitionedAssigner: PartitionAssigner = ({ cluster }) => ({
  name: CO_PARTITIONED_ASSIGNER,
  version: 1,
  async assign({ members, topics }) {
    const memberIds = members.map((member) => member.memberId).sort();
    const assignment = new Map<string, Record<string, number[]>>(memberIds.map((id) => [id, {}]));
    for (const topic of topics) {
      const partitions = cluster.findTopicPartitionMetadata(topic).map((metadata) => metadata.partitionId).sort((a, b) => a - b);
      for (const partition of partitions) {
        const owner = assignment.get(memberIds[partition % memberIds.length]!)!;
        (owner[topic] ??= []).push(partition);
      }
    }
    return memberIds.map((memberId) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment: assignment.get(memberId)!, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return { name: CO_PARTITIONED_ASSIGNER, metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) };
  },
});
