import { loadConfig } from '@fleetstream/config';
import { ConfigType, registerAs } from '@nestjs/config';

/** The typed, validated configuration as a NestJS config namespace (inject with `@Inject(fleetstreamConfig.KEY)`). */
export const fleetstreamConfig = registerAs('fleetstream', () => loadConfig(process.env));
export type AppConfig = ConfigType<typeof fleetstreamConfig>;
