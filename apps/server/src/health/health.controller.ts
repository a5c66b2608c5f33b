import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { DependenciesHealth } from './dependencies.health';

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly dependencies: DependenciesHealth,
  ) {}

  @Get('health')
  @HealthCheck()
  @ApiOperation({ summary: 'Liveness: the process serves requests and its embedded/remote ClickHouse answers' })
  live() {
    return this.health.check([() => this.dependencies.clickHouse()]);
  }

  @Get('ready')
  @HealthCheck()
  @ApiOperation({ summary: 'Readiness: Kafka, the schema registry and ClickHouse reachable; twins restored from fleet.twins' })
  ready() {
    return this.health.check([
      () => this.dependencies.kafkaBrokers(),
      () => this.dependencies.schemaRegistry(),
      () => this.dependencies.clickHouse(),
      () => this.dependencies.partitionsRestored(),
    ]);
  }
}
