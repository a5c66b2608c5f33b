import { z } from 'zod';
import { ATTRIBUTE_FILTER_PATTERN, deviceFilterPredicate, METRIC_FILTER_PATTERN } from '../device/device-filter';
import { exhaustive } from '../exhaustive';

export const ALERT_SEVERITIES = ['critical', 'major', 'minor', 'warning', 'info'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

export const COMPARISONS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type Comparison = (typeof COMPARISONS)[number];

/** Longest window a rule may wait or look back over (30 days): deadlines stay far from overflow, and a typo in a unit shows. */
const MAX_SECONDS = 30 * 24 * 3600;

const comparison = z.enum(COMPARISONS);
const metric = z.string().min(1, 'must name a metric').max(128);
const finite = z.number().finite();
const seconds = z.number().finite().nonnegative().max(MAX_SECONDS);
const positiveSeconds = seconds.positive();

/** A webhook sink's name (ALERT_WEBHOOKS `name`), as a rule's `notify` names it. */
export const WEBHOOK_SINK_NAME_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';
/** Most sinks one rule may name. */
export const MAX_RULE_SINKS = 16;

const sinkName = z.string().regex(new RegExp(WEBHOOK_SINK_NAME_PATTERN), 'must be a webhook sink name: lower-case letters, digits and "-", at most 63');
/** An empty list is the same as none: a rule reads back the same from fleet.alert-rules either way. */
const notify = z
  .array(sinkName)
  .max(MAX_RULE_SINKS, `at most ${MAX_RULE_SINKS} sinks`)
  .superRefine((names, context) => {
    names.forEach((name, i) => {
      if (names.indexOf(name) !== i) context.addIssue({ code: z.ZodIssueCode.custom, path: [i], message: `names "${name}" again` });
    });
  })
  .transform((names) => (names.length === 0 ? undefined : names));

const thresholdCondition = z
  .object({
    type: z.literal('threshold'),
    metric,
    op: comparison,
    value: finite,
    /** How long the condition must hold before the alarm is raised; 0 (the default) raises at once. */
    forSeconds: seconds.optional(),
    /** When an active alarm clears (hysteresis); without it, it clears when `metric op value` stops holding. */
    clear: z.object({ op: comparison, value: finite }).strict().optional(),
  })
  .strict();

const absenceCondition = z
  .object({
    type: z.literal('absence'),
    /** Silence longer than this raises the alarm. */
    forSeconds: positiveSeconds,
    /** Only readings with this metric count as heard; without it, any reading does. */
    metric: metric.optional(),
  })
  .strict();

const rateOfChangeCondition = z
  .object({
    type: z.literal('rateOfChange'),
    metric,
    /** Bound on |Δmetric| / Δt, per second, over the window. */
    maxPerSecond: finite.nonnegative(),
    windowSeconds: positiveSeconds,
  })
  .strict();

const alertRuleSchema = z
  .object({
    name: z.string().trim().min(1, 'must not be empty').max(200),
    severity: z.enum(ALERT_SEVERITIES),
    /** The devices the rule applies to, filtered like GET /devices; absent: every device. */
    scope: z
      .object({
        attribute: z.string().regex(new RegExp(ATTRIBUTE_FILTER_PATTERN), 'must be name:value').optional(),
        metric: z.string().regex(new RegExp(METRIC_FILTER_PATTERN), 'must be name:min:max, e.g. battery::20').optional(),
      })
      .strict()
      .optional(),
    condition: z.discriminatedUnion('type', [thresholdCondition, absenceCondition, rateOfChangeCondition]),
    /**
     * Webhook sinks (ALERT_WEBHOOKS names) that get this rule's alarms besides the global ones. Only
     * names: URLs and secrets stay in the operator's config, out of a topic viewers read.
     */
    notify: notify.optional(),
  })
  .strict();

/** A rule as data: what to watch, on which devices, and how bad it is. */
export type AlertRule = z.infer<typeof alertRuleSchema>;
export type AlertCondition = AlertRule['condition'];
export type ThresholdCondition = z.infer<typeof thresholdCondition>;

/** A field of a rule body that is wrong, by its path (`condition.op`), and why. */
export interface AlertRuleError {
  field: string;
  message: string;
}

export type AlertRuleValidation = { ok: true; rule: AlertRule } | { ok: false; errors: AlertRuleError[] };

/** Checks a rule body (parsed JSON); the errors name each wrong field by its path. */
export function validateAlertRule(body: unknown): AlertRuleValidation {
  const parsed = alertRuleSchema.safeParse(body);
  if (!parsed.success) {
    return {
      ok: false,
      errors: parsed.error.issues.flatMap((issue) =>
        // an unknown key is reported on its object; name the key itself
        issue.code === 'unrecognized_keys'
          ? issue.keys.map((key) => ({ field: fieldOf([...issue.path, key]), message: 'is not a field of an alert rule' }))
          : [{ field: fieldOf(issue.path), message: issue.message }],
      ),
    };
  }
  const { condition } = parsed.data;
  if (condition.type === 'threshold' && condition.clear) {
    const both = valueMeetingBoth(condition, condition.clear);
    if (both !== null) {
      return {
        ok: false,
        errors: [{ field: 'condition.clear', message: `must not hold while the alarm's condition holds (${both} meets both ${condition.op} ${condition.value} and ${condition.clear.op} ${condition.clear.value}), or the alarm would flap` }],
      };
    }
  }
  return { ok: true, rule: parsed.data };
}

/** Whether the rule watches a device whose twin reports these values: a rule with no scope watches every device. */
export function ruleScopeMatches(rule: AlertRule, reported: Readonly<Record<string, { value: number | string } | undefined>>): boolean {
  if (rule.scope === undefined) return true;
  let matches = scopePredicates.get(rule.scope);
  if (!matches) scopePredicates.set(rule.scope, (matches = deviceFilterPredicate(rule.scope)));
  return matches(reported);
}

/** Each scope's predicate, made once: a rule is matched against every reading. */
const scopePredicates = new WeakMap<NonNullable<AlertRule['scope']>, ReturnType<typeof deviceFilterPredicate>>();

/** Whether `value op bound` holds. */
export function compare(value: number, op: Comparison, bound: number): boolean {
  switch (op) {
    case '>':
      return value > bound;
    case '>=':
      return value >= bound;
    case '<':
      return value < bound;
    case '<=':
      return value <= bound;
    case '==':
      return value === bound;
    case '!=':
      return value !== bound;
    default:
      return exhaustive(op);
  }
}

/** `condition.op`, `notify[1]`. */
function fieldOf(path: readonly (string | number)[]): string {
  if (path.length === 0) return '(body)';
  return path.map((part, i) => (typeof part === 'number' ? `[${part}]` : i === 0 ? part : `.${part}`)).join('');
}

/**
 * A value for which both comparisons hold, or null. Each comparison splits the number line at its
 * bound, so the bounds, the points just beside them, the midpoint and the far ends cover every case.
 */
function valueMeetingBoth(raise: { op: Comparison; value: number }, clear: { op: Comparison; value: number }): number | null {
  const bounds = [raise.value, clear.value];
  const step = (bound: number) => Math.max(Math.abs(bound) * Number.EPSILON * 4, Number.MIN_VALUE);
  const candidates = [
    ...bounds.flatMap((bound) => [bound - step(bound), bound, bound + step(bound)]),
    (raise.value + clear.value) / 2,
    -Number.MAX_VALUE,
    Number.MAX_VALUE,
  ];
  return candidates.find((value) => compare(value, raise.op, raise.value) && compare(value, clear.op, clear.value)) ?? null;
}
