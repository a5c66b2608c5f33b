import { AlertCondition, AlertRule, AlertRuleValidation, validateAlertRule } from '@fleetstream/domain';

/** A fleet.alert-rules record as schemas/alert-rule.avsc defines it (timestamps as epoch ms, absent fields null). */
export interface AlertRuleRecord {
  id: string;
  name: string;
  severity: AlertRule['severity'];
  scope: { attribute: string | null; metric: string | null } | null;
  condition: {
    type: AlertCondition['type'];
    metric: string | null;
    op: string | null;
    value: number | null;
    forSeconds: number | null;
    clear: { op: string; value: number } | null;
    maxPerSecond: number | null;
    windowSeconds: number | null;
  };
  revision: number;
  updatedAt: number;
  updatedBy: string;
  deletedAt: number | null;
  deletedBy: string | null;
  /** ALERT_WEBHOOKS names; [] when the rule names none (and in records written before rules could). */
  notify: string[];
}

/** Who wrote a revision of a rule, and when. */
export interface AlertRuleRevision {
  revision: number;
  updatedAt: number;
  updatedBy: string;
}

/** A validated rule as its record; `deleted` makes it the last record before the tombstone. */
export function toAlertRuleRecord(id: string, rule: AlertRule, revision: AlertRuleRevision, deleted?: { at: number; by: string }): AlertRuleRecord {
  const { condition } = rule;
  return {
    id,
    name: rule.name,
    severity: rule.severity,
    scope: rule.scope ? { attribute: rule.scope.attribute ?? null, metric: rule.scope.metric ?? null } : null,
    condition: {
      type: condition.type,
      metric: condition.metric ?? null,
      op: condition.type === 'threshold' ? condition.op : null,
      value: condition.type === 'threshold' ? condition.value : null,
      forSeconds: condition.type === 'rateOfChange' ? null : (condition.forSeconds ?? null),
      clear: condition.type === 'threshold' ? (condition.clear ?? null) : null,
      maxPerSecond: condition.type === 'rateOfChange' ? condition.maxPerSecond : null,
      windowSeconds: condition.type === 'rateOfChange' ? condition.windowSeconds : null,
    },
    revision: revision.revision,
    updatedAt: revision.updatedAt,
    updatedBy: revision.updatedBy,
    deletedAt: deleted?.at ?? null,
    deletedBy: deleted?.by ?? null,
    notify: rule.notify ?? [],
  };
}

/**
 * The rule a record holds, validated again as the API validates a body: a record another writer
 * made wrong (a threshold without its op, a clear that would flap) is refused, naming the field.
 */
export function fromAlertRuleRecord(record: AlertRuleRecord): AlertRuleValidation {
  const { condition, scope } = record;
  // the body the API took: fields that are null in the record were absent from it
  const present = (fields: Record<string, unknown>) => Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== null));
  return validateAlertRule({
    name: record.name,
    severity: record.severity,
    ...(scope && { scope: present(scope) }),
    // plain objects: decoded Avro records carry methods that a strict schema would take for fields
    condition: present({ ...condition, clear: condition.clear && { op: condition.clear.op, value: condition.clear.value } }),
    ...(record.notify.length > 0 && { notify: [...record.notify] }),
  });
}
