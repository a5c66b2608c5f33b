/** The Avro shape of fleet.twin-patch-outcomes records (schemas/twin-patch-outcome.avsc). */
export interface TwinPatchOutcomeRecord {
  requestId: string;
  deviceId: string;
  outcome: 'APPLIED' | 'UNCHANGED' | 'REJECTED';
  /** APPLIED: the twin's version with the patch; otherwise its version when the patch was decided. */
  version: number;
  /** REJECTED: the dead letter's reason. */
  reason: string | null;
  /** REJECTED: what is wrong. */
  error: string | null;
  at: number;
}
