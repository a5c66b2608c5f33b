import { AlertRule } from '@fleetstream/domain';
import { Body, Controller, Delete, Get, Headers, HttpCode, HttpStatus, Param, Post, Put, Query, Res } from '@nestjs/common';
import { ApiBody, ApiHeader, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Access } from '../../auth/access.decorator';
import { Actor } from '../../auth/principal';
import { VERSION_TAG_PATTERN } from '../../twins/twin-version';
import { StoredAlertRule } from '../alert-rule-catalog';
import { AlertRulesQueryDto, EXAMPLE_RULE } from './alert-rules.dto';
import { READ_YOUR_WRITE_MS, RuleWrite, AlertRulesService } from './alert-rules.service';

/** A rule as the API answers it: the rule's fields, its id and who changed it last when. */
export type AlertRuleView = AlertRule & { id: string; revision: number; updatedAt: string; updatedBy: string };

function ruleView({ id, rule, revision, updatedAt, updatedBy }: StoredAlertRule): AlertRuleView {
  return { id, ...rule, revision, updatedAt: new Date(updatedAt).toISOString(), updatedBy };
}

const RULE_ID = ApiParam({ name: 'id', description: 'the id the rule was created with', schema: { type: 'string' } });
const UNKNOWN_RULE = ApiResponse({ status: 404, description: 'no such rule (or it was deleted)' });
const IF_MATCH = ApiHeader({ name: 'If-Match', required: false, description: "the rule's revision you read (its ETag); 412 when the rule moved on, 400 when it is not a revision", schema: { type: 'string', pattern: VERSION_TAG_PATTERN } });
const INVALID_RULE = ApiResponse({ status: 400, description: 'not a valid rule: `errors` names each wrong field by its path (say `condition.op`)' });
const RULE_BODY = ApiBody({
  description: 'name, severity (critical | major | minor | warning | info), scope (optional: attribute name:value, metric name:min:max; absent: every device), one condition (threshold, absence or rateOfChange), and notify (optional: names of ALERT_WEBHOOKS sinks that get this rule\'s alarms besides the global ones; 400 for a name that is not configured)',
  schema: { type: 'object', example: EXAMPLE_RULE },
});
const NOT_READ_BACK = ApiResponse({ status: 202, description: `on Kafka, but this instance did not read it back within ${READ_YOUR_WRITE_MS / 1000} s: a GET shows it shortly` });

/** Alert rules over HTTP: rules as data on fleet.alert-rules; the alert rules service does the work. */
@ApiTags('alert rules')
@Controller('alert-rules')
export class AlertRulesController {
  constructor(private readonly rules: AlertRulesService) {}

  @Post()
  @Access('alert-rules:write')
  @HttpCode(HttpStatus.CREATED)
  @ApiOperation({ summary: 'Create an alert rule; answers once it is on fleet.alert-rules and this instance reads it' })
  @RULE_BODY
  @ApiResponse({ status: 201, description: 'the rule with its id (Location: /alert-rules/{id}, ETag: its revision, 1)' })
  @NOT_READ_BACK
  @INVALID_RULE
  async create(@Body() body: unknown, @Actor() actor: string, @Res({ passthrough: true }) res: Response): Promise<AlertRuleView> {
    const written = await this.rules.create(body, actor);
    res.setHeader('Location', `/alert-rules/${written.stored.id}`);
    return this.answer(res, written);
  }

  @Get()
  @Access('alert-rules:read')
  @ApiOperation({ summary: 'Alert rules in id order, a page at a time (follow nextCursor until it is absent)' })
  @ApiResponse({ status: 200, description: 'a page of rules' })
  @ApiResponse({ status: 400, description: 'a query parameter out of its bounds (named in the message)' })
  list(@Query() query: AlertRulesQueryDto): { rules: AlertRuleView[]; nextCursor?: string } {
    const page = this.rules.list(query.limit ?? 100, query.cursor);
    return { rules: page.rules.map(ruleView), ...(page.nextCursor && { nextCursor: page.nextCursor }) };
  }

  @Get(':id')
  @Access('alert-rules:read')
  @ApiOperation({ summary: 'An alert rule; ETag: its revision' })
  @RULE_ID
  @ApiResponse({ status: 200, description: 'the rule' })
  @UNKNOWN_RULE
  get(@Param('id') id: string, @Res({ passthrough: true }) res: Response): AlertRuleView {
    const stored = this.rules.get(id);
    res.setHeader('ETag', revisionTag(stored.revision));
    return ruleView(stored);
  }

  @Put(':id')
  @Access('alert-rules:write')
  @ApiOperation({ summary: "Replace an alert rule (its next revision); If-Match: the revision you read. The alert processor clears the rule's active alarms" })
  @RULE_ID
  @RULE_BODY
  @IF_MATCH
  @ApiResponse({ status: 200, description: 'the rule at its new revision (ETag)' })
  @NOT_READ_BACK
  @INVALID_RULE
  @UNKNOWN_RULE
  @ApiResponse({ status: 412, description: "If-Match is not the rule's revision" })
  async replace(@Param('id') id: string, @Body() body: unknown, @Headers('if-match') ifMatch: string | undefined, @Actor() actor: string, @Res({ passthrough: true }) res: Response): Promise<AlertRuleView> {
    return this.answer(res, await this.rules.replace(id, body, ifMatch, actor));
  }

  @Delete(':id')
  @Access('alert-rules:write')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Delete an alert rule: a last record saying who deleted it, then a tombstone on fleet.alert-rules' })
  @RULE_ID
  @IF_MATCH
  @ApiResponse({ status: 204, description: 'deleted' })
  @NOT_READ_BACK
  @UNKNOWN_RULE
  @ApiResponse({ status: 412, description: "If-Match is not the rule's revision" })
  async remove(@Param('id') id: string, @Headers('if-match') ifMatch: string | undefined, @Actor() actor: string, @Res({ passthrough: true }) res: Response): Promise<void> {
    if (!(await this.rules.remove(id, ifMatch, actor))) res.status(HttpStatus.ACCEPTED);
  }

  private answer(res: Response, { stored, visible }: RuleWrite): AlertRuleView {
    res.setHeader('ETag', revisionTag(stored.revision));
    if (!visible) res.status(HttpStatus.ACCEPTED);
    return ruleView(stored);
  }
}

function revisionTag(revision: number): string {
  return `"${revision}"`;
}
