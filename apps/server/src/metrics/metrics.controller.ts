import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { Response } from 'express';
import { Access } from '../auth/access.decorator';

/** The library's /metrics, behind the `metrics:read` right (Prometheus scrapes with `authorization: {credentials: <key>}`). */
@ApiTags('metrics')
@Controller()
export class MetricsController extends PrometheusController {
  @Get()
  @Access('metrics:read')
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format)' })
  @ApiProduces('text/plain')
  @ApiOkResponse({ description: 'every metric of this instance, in the Prometheus text format', content: { 'text/plain': { schema: { type: 'string' } } } })
  override index(@Res({ passthrough: true }) response: Response): Promise<string> {
    return super.index(response);
  }
}
