import { OptionalLimitQuery, OptionalMatching } from '../../common/query-decorators';

/** Rule ids are server-made UUIDs: the cursor is the last id of the previous page. */
export const RULE_ID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

export const MAX_RULES_PER_PAGE = 1000;

export class AlertRulesQueryDto {
  @OptionalLimitQuery('rules per page', MAX_RULES_PER_PAGE)
  limit?: number;

  @OptionalMatching(RULE_ID_PATTERN, 'cursor must be the nextCursor of a previous page', 'the nextCursor of the previous page')
  cursor?: string;
}

/** The example body of the issue, shown in the OpenAPI document. */
export const EXAMPLE_RULE = {
  name: 'overheat',
  severity: 'major',
  condition: { type: 'threshold', metric: 'temperature', op: '>', value: 80, forSeconds: 0, clear: { op: '<', value: 75 } },
} as const;

