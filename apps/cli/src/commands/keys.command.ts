import { API_KEY_NAME, isRole, ROLES } from '@fleetstream/domain';
import { AvroTopicProducer, ensureTopics, fleetTopicDefinitions, readTopicsToEnd } from '@fleetstream/kafka';
import { apiKeyProblem, ApiKeyRecord, generateApiKey, hashApiKey, readAvroSchema, RegistryCodec } from '@fleetstream/serde';
import { Command, InvalidArgumentError } from 'commander';
import { userInfo } from 'node:os';
import { CliContext, cliContext } from '../cli-context';
import { emit, OutputOptions, table } from '../output';

/** A key as `keys list` shows it: never the secret, nor its hash. */
export interface ApiKeyListing {
  name: string;
  role: string;
  createdAt: string;
  createdBy: string | null;
  revokedAt: string | null;
  revokedBy: string | null;
}

export interface CreatedApiKey {
  name: string;
  role: string;
  /** The secret: printed once, stored nowhere. */
  key: string;
}

function codec(context: CliContext): RegistryCodec<ApiKeyRecord> {
  return new RegistryCodec<ApiKeyRecord>(context.registry, readAvroSchema('api-key'));
}

/** Who runs the CLI, for createdBy / revokedBy. */
function cliActor(): string {
  return `cli:${userInfo().username}`;
}

/** The latest record per key name on fleet.api-keys (tombstones drop the name). */
export async function currentKeys(context: CliContext): Promise<Map<string, ApiKeyRecord>> {
  const keys = new Map<string, ApiKeyRecord>();
  const apiKeyCodec = codec(context);
  await ensureTopics(context.kafka, fleetTopicDefinitions(context.topics, context.config.TELEMETRY_PARTITIONS));
  await readTopicsToEnd(
    context.kafka,
    [context.topics.apiKeys],
    async (records) => {
      for (const record of records) {
        if (!record.key) continue;
        const name = record.key.toString('utf8');
        if (!record.value) {
          keys.delete(name);
          continue;
        }
        const decoded = await apiKeyCodec.decode(record.value);
        if (decoded.ok) keys.set(name, decoded.value);
      }
    },
    { groupPrefix: `${context.config.TOPIC_PREFIX}.cli-keys` },
  );
  return keys;
}

async function publish(context: CliContext, record: ApiKeyRecord): Promise<void> {
  const producer = new AvroTopicProducer<ApiKeyRecord>(context.kafka, codec(context), context.topics.apiKeys, (value) => value.name);
  await producer.connect();
  try {
    await producer.send([record]);
  } finally {
    await producer.disconnect();
  }
}

export async function createKey(context: CliContext, name: string, role: string): Promise<CreatedApiKey> {
  if (!API_KEY_NAME.test(name)) throw new Error(`key name ${JSON.stringify(name)}: 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit`);
  if (!isRole(role)) throw new Error(`role ${JSON.stringify(role)}: one of ${ROLES.join(', ')}`);
  const existing = (await currentKeys(context)).get(name);
  if (existing && existing.revokedAt === null) throw new Error(`a key named "${name}" exists; revoke it first or pick another name`);
  const key = generateApiKey();
  const record: ApiKeyRecord = { name, role, keyHash: hashApiKey(key), createdAt: Date.now(), createdBy: cliActor(), revokedAt: null, revokedBy: null };
  const problem = apiKeyProblem(record);
  if (problem) throw new Error(problem);
  await publish(context, record);
  return { name, role, key };
}

export async function listKeys(context: CliContext): Promise<ApiKeyListing[]> {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return [...(await currentKeys(context)).values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((record) => ({ name: record.name, role: record.role, createdAt: iso(record.createdAt)!, createdBy: record.createdBy, revokedAt: iso(record.revokedAt), revokedBy: record.revokedBy }));
}

export async function revokeKey(context: CliContext, name: string): Promise<ApiKeyListing> {
  const existing = (await currentKeys(context)).get(name);
  if (!existing) throw new Error(`no key named "${name}" (fleetstream keys list shows them)`);
  if (existing.revokedAt !== null) throw new Error(`the key "${name}" was already revoked at ${new Date(existing.revokedAt).toISOString()}`);
  const revoked: ApiKeyRecord = { ...existing, revokedAt: Date.now(), revokedBy: cliActor() };
  await publish(context, revoked);
  return (await listKeys(context)).find((key) => key.name === name) ?? { name, role: existing.role, createdAt: new Date(existing.createdAt).toISOString(), createdBy: existing.createdBy, revokedAt: new Date(revoked.revokedAt!).toISOString(), revokedBy: revoked.revokedBy };
}

function printKeys(keys: ApiKeyListing[]): void {
  if (keys.length === 0) {
    console.log('no API keys; create one with: fleetstream keys create --role admin --name <name>');
    return;
  }
  console.log(table([['NAME', 'ROLE', 'CREATED', 'CREATED BY', 'REVOKED', 'REVOKED BY'], ...keys.map((k) => [k.name, k.role, k.createdAt, k.createdBy, k.revokedAt, k.revokedBy])]));
}

const roleOption = (value: string): string => {
  if (!isRole(value)) throw new InvalidArgumentError(`one of ${ROLES.join(', ')}`);
  return value;
};

export const keysCommand = new Command('keys')
  .description('API keys on fleet.api-keys: create (the secret is printed once), list, revoke; every instance follows the topic within seconds')
  .addCommand(
    new Command('create')
      .description('create a key and print its secret once')
      .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`, roleOption)
      .requiredOption('--name <name>', 'a unique name; audit records name the caller key:<name>')
      .option('--json', 'print {"name", "role", "key"}')
      .action(async (options: { role: string; name: string } & OutputOptions) => {
        const created = await createKey(cliContext('keys'), options.name, options.role);
        emit(created, options, (key) => {
          console.log(key.key);
          console.error(`created key "${key.name}" with the role ${key.role}; the secret above is shown only now`);
        });
      }),
  )
  .addCommand(
    new Command('list')
      .description('name, role, created and revoked of every key (never a secret)')
      .option('--json', 'print JSON')
      .action(async (options: OutputOptions) => emit(await listKeys(cliContext('keys')), options, printKeys)),
  )
  .addCommand(
    new Command('revoke')
      .description('revoke a key: every instance refuses it within seconds')
      .argument('<name>')
      .option('--json', 'print JSON')
      .action(async (name: string, options: OutputOptions) => emit(await revokeKey(cliContext('keys'), name), options, (key) => console.log(`revoked "${key.name}" at ${key.revokedAt}`))),
  );
