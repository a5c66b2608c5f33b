import type { AlertRule } from '@fleetstream/domain';

/** A rule as stored on fleet.alert-rules (compacted, key = rule id): the rule and who changed it when. */
export interface StoredAlertRule {
  id: string;
  rule: AlertRule;
  /** 1 when created, +1 on every change: a decider given the same revision twice decides nothing new. */
  revision: number;
  updatedAt: number;
  /** The caller who wrote it (key:<name>, jwt:<subject>). */
  updatedBy: string;
}

/**
 * Every live alert rule, as each instance reads it from fleet.alert-rules (whole at start, then
 * followed). The alert processor evaluates against it; the rules REST API serves from it.
 */
export interface AlertRuleCatalog {
  all(): readonly StoredAlertRule[];
  get(id: string): StoredAlertRule | undefined;
  /** Called after each change this instance reads: the rule as it now stands, or null once deleted. */
  onChange(listener: (id: string, rule: StoredAlertRule | null) => void): () => void;
  /**
   * Resolves once the rules written before the call are read (fleet.alert-rules up to its end
   * offsets then): the alert processor waits for it before it evaluates any reading, or readings
   * taken in before the rules are known would be passed over for good. Rejects after `timeoutMs`
   * (the view's default: 60 s), and the caller retries.
   */
  caughtUp(timeoutMs?: number): Promise<void>;
}

/** Nest injection token of the AlertRuleCatalog. */
export const ALERT_RULE_CATALOG = Symbol('ALERT_RULE_CATALOG');
