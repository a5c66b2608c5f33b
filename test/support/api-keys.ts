import { cliContext } from '../../apps/cli/src/cli-context';
import { createKey } from '../../apps/cli/src/commands/keys.command';
import type { Role } from '@fleetstream/domain';
import { stackEnv, TestStack } from './test-stack';

/** A live API key with `role` on the stack's fleet.api-keys, made as `fleetstream keys create` makes it. */
export async function apiKeyFor(stack: TestStack, name: string, role: Role): Promise<string> {
  return (await createKey(cliContext('test', { ...process.env, ...stackEnv(stack) }), name, role)).key;
}
