import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { DependenciesHealth } from './dependencies.health';
import { ReadinessChecks } from './readiness-checks';
import { Public } from '../auth/access.decorator';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly dependencies: DependenciesHealth,
    private readonly readiness: ReadinessChecks,
  ) {}

  @Get('health')
  @Public()
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process serves requests and its embedded/remote ClickHouse answers' })
  live() {
    return this.health.check([() => this.dependencies.clickHouse()]);
  }

  @Get('ready')
  @Public()
  @HealthCheck()
  @ApiOperation({
    summary: 'Readiness: Kafka, the schema registry and ClickHouse are reachable; the read models restored their topics and none is stuck; the processors restored their partitions and none has a batch failing for PROCESSOR_STUCK_S',
  })
  ready() {
    return this.health.check([
      () => this.dependencies.kafkaBrokers(),
      () => this.dependencies.schemaRegistry(),
      () => this.dependencies.clickHouse(),
      ...this.readiness.all(),
    ]);
  }
}
