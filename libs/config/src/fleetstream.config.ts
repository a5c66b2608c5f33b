import { resolve } from 'node:path';
import { WEBHOOK_SINK_NAME_PATTERN } from '@fleetstream/domain';
import { z } from 'zod';

const commaList = z
  .string()
  .transform((value) => value.split(',').map((item) => item.trim()).filter((item) => item.length > 0));

/** 'true' or 'false', nothing else: z.coerce.boolean reads any non-empty string, 'false' included, as true. */
const envFlag = z.enum(['true', 'false']).transform((value) => value === 'true');

/** How the Kafka clients (service, CLI, benchmarks) authenticate and encrypt; kafkaSettings in @fleetstream/kafka applies them. */
const kafkaSecurityShape = {
  KAFKA_SASL_MECHANISM: z.enum(['plain', 'scram-sha-256', 'scram-sha-512']).optional().describe('SASL mechanism; unset: no SASL'),
  KAFKA_SASL_USERNAME: z.string().min(1).optional(),
  KAFKA_SASL_PASSWORD: z.string().optional(),
  KAFKA_SASL_PASSWORD_FILE: z.string().min(1).optional().describe('file holding the password (a mounted secret), instead of KAFKA_SASL_PASSWORD'),
  KAFKA_SSL: envFlag.default('false').describe('TLS to the brokers'),
  KAFKA_SSL_CA_FILE: z.string().min(1).optional().describe('PEM of the CA that signed the brokers\' certificates; unset: the system CAs'),
  KAFKA_SSL_CERT_FILE: z.string().min(1).optional().describe('PEM client certificate, for brokers that require one (mutual TLS)'),
  KAFKA_SSL_KEY_FILE: z.string().min(1).optional().describe('PEM private key of KAFKA_SSL_CERT_FILE'),
  KAFKA_SSL_REJECT_UNAUTHORIZED: envFlag.default('true').describe('false accepts any broker certificate: for tests only'),
};
type KafkaSecurity = z.infer<z.ZodObject<typeof kafkaSecurityShape>>;

/** Kafka security settings that cannot work together, each reported on the variable to fix (not silently plaintext or anonymous). */
function kafkaSecurityRules(config: KafkaSecurity, context: z.RefinementCtx): void {
  const problem = (variable: keyof KafkaSecurity, message: string) => context.addIssue({ code: z.ZodIssueCode.custom, path: [variable], message });
  const hasPassword = config.KAFKA_SASL_PASSWORD !== undefined || config.KAFKA_SASL_PASSWORD_FILE !== undefined;
  if (config.KAFKA_SASL_MECHANISM) {
    if (!config.KAFKA_SASL_USERNAME) problem('KAFKA_SASL_USERNAME', `required with KAFKA_SASL_MECHANISM=${config.KAFKA_SASL_MECHANISM}`);
    if (!hasPassword) problem('KAFKA_SASL_PASSWORD', `required (or KAFKA_SASL_PASSWORD_FILE) with KAFKA_SASL_MECHANISM=${config.KAFKA_SASL_MECHANISM}`);
    if (config.KAFKA_SASL_PASSWORD !== undefined && config.KAFKA_SASL_PASSWORD_FILE !== undefined) {
      problem('KAFKA_SASL_PASSWORD_FILE', 'set KAFKA_SASL_PASSWORD or KAFKA_SASL_PASSWORD_FILE, not both');
    }
  } else if (config.KAFKA_SASL_USERNAME !== undefined || hasPassword) {
    problem('KAFKA_SASL_MECHANISM', 'required when a SASL username or password is set: plain, scram-sha-256 or scram-sha-512');
  }
  if (!config.KAFKA_SSL) {
    for (const variable of ['KAFKA_SSL_CA_FILE', 'KAFKA_SSL_CERT_FILE', 'KAFKA_SSL_KEY_FILE'] as const) {
      if (config[variable] !== undefined) problem(variable, 'has no effect without KAFKA_SSL=true');
    }
    if (!config.KAFKA_SSL_REJECT_UNAUTHORIZED) problem('KAFKA_SSL_REJECT_UNAUTHORIZED', 'has no effect without KAFKA_SSL=true');
  }
  if (config.KAFKA_SSL_CERT_FILE !== undefined && config.KAFKA_SSL_KEY_FILE === undefined) problem('KAFKA_SSL_KEY_FILE', 'required with KAFKA_SSL_CERT_FILE');
  if (config.KAFKA_SSL_KEY_FILE !== undefined && config.KAFKA_SSL_CERT_FILE === undefined) problem('KAFKA_SSL_CERT_FILE', 'required with KAFKA_SSL_KEY_FILE');
}

/** HISTORY_URL only where it is used: an instance that would ignore it says so instead. */
function historyTopologyRules(config: { HISTORY_URL?: string; HISTORY_TRANSPORT: string; PROCESSORS: string[] }, context: z.RefinementCtx): void {
  if (config.HISTORY_URL === undefined) return;
  const problem = (message: string) => context.addIssue({ code: z.ZodIssueCode.custom, path: ['HISTORY_URL'], message });
  if (config.HISTORY_TRANSPORT === 'server') problem('has no effect with HISTORY_TRANSPORT=server: every instance reads the shared ClickHouse');
  else if (config.PROCESSORS.includes('history')) problem('has no effect where PROCESSORS includes history: this instance answers history reads itself');
}

/** A JSON value in an environment variable, reported as a config problem (without quoting it) when it does not parse. */
const jsonText = z.string().transform((text, context) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    // not the parser's message: it may quote the text, and the text holds secrets
    context.addIssue({ code: z.ZodIssueCode.custom, message: 'not JSON; expected a list like [{"url": "https://…", "secret": "…"}]' });
    return z.NEVER;
  }
});

/**
 * A webhook that receives alert notifications: where, the secret that signs each delivery
 * (HMAC-SHA256), and which alarms: every one (`global`, the default) or those of the rules whose
 * `notify` names it (`rule`). Rules name sinks, never URLs: a rule cannot send the server anywhere.
 */
const alertWebhook = z.object({
  url: z.string().url().regex(/^https?:\/\//, 'an http:// or https:// URL'),
  secret: z.string().min(16, 'at least 16 characters; generate one with `openssl rand -hex 32`'),
  name: z.string().regex(new RegExp(WEBHOOK_SINK_NAME_PATTERN), 'lower-case letters, digits and "-", starting with a letter or digit, at most 63').optional(),
  scope: z.enum(['global', 'rule']).default('global'),
}).strict();

/** Each URL once, each name once, and a name on every sink that only rules reach. */
function alertWebhookRules(sinks: readonly z.infer<typeof alertWebhook>[], context: z.RefinementCtx): void {
  const problem = (path: (string | number)[], message: string) => context.addIssue({ code: z.ZodIssueCode.custom, path, message });
  if (new Set(sinks.map((sink) => sink.url)).size !== sinks.length) problem([], 'each URL once');
  sinks.forEach((sink, i) => {
    if (sink.scope === 'rule' && sink.name === undefined) problem([i, 'name'], 'required with "scope": "rule" (rules name the sinks they notify)');
    const first = sinks.findIndex((other) => other.name !== undefined && other.name === sink.name);
    if (first !== i && first >= 0) problem([i, 'name'], `"${sink.name}" is the name of entry ${first} already; each name once`);
  });
}

/** An optional setting where an empty value (`VAR=` in an env file, a compose variable left unset) means unset. */
const unsetWhenEmpty = <T extends z.ZodTypeAny>(schema: T) => z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

/** Every setting, its environment variable and a default that works on the local stack. */
export const fleetstreamConfigSchema = z.object({
  HTTP_HOST: z.string().default('127.0.0.1'),
  HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  FLEETSTREAM_DATA_DIR: z.string().default(resolve(process.cwd(), '.data')),
  KAFKA_BROKERS: commaList.default('127.0.0.1:9092'),
  KAFKA_CLIENT_ID: z.string().default('fleetstream'),
  INSTANCE_ID: unsetWhenEmpty(z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'letters, digits, ".", "_" and "-" only, at most 100'))
    .describe("this instance's stable name, different on every instance (a StatefulSet pod name, a host name): the processors' static group membership and transactional ids, so a restarted instance gets its partitions back at once; unset: dynamic membership"),
  KAFKA_SESSION_TIMEOUT_MS: z.coerce.number().int().min(1000).max(1_800_000).default(10_000)
    .describe("how long the processors' consumer groups wait for a silent instance before its partitions move (within the brokers' group.min/max.session.timeout.ms, 6 s to 30 min by default)"),
  ...kafkaSecurityShape,
  SCHEMA_REGISTRY_URL: z.string().url().default('http://127.0.0.1:8081/apis/ccompat/v7'),
  TOPIC_PREFIX: z.string().regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" and "-" only').default('fleet'),
  TELEMETRY_TOPIC_PATTERN: z.string().optional().describe('extra telemetry topics to consume, a JavaScript regular expression'),
  TELEMETRY_PARTITIONS: z.coerce.number().int().min(1).default(6),
  PROCESSORS: commaList
    .pipe(z.array(z.enum(['history', 'twins', 'commands', 'notifications', 'alerts'])))
    .default('history,twins,commands,notifications')
    .describe('processors this instance runs; an empty list serves REST only'),
  HISTORY_TRANSPORT: z.enum(['chdb', 'server']).default('chdb'),
  HISTORY_URL: unsetWhenEmpty(z.string().url().regex(/^https?:\/\//, 'an http:// or https:// URL')).describe("with HISTORY_TRANSPORT=chdb, on an instance without the history processor: the base URL of the one that runs it (http://host:port), which answers this instance's history reads"),
  HISTORY_FORWARD_TIMEOUT_MS: z.coerce.number().int().min(100).default(15_000).describe('longest wait for the HISTORY_URL instance to answer a forwarded history read (504 after it)'),
  CHDB_PATH: z.string().optional().describe('embedded ClickHouse data directory; default <data dir>/chdb'),
  CLICKHOUSE_URL: z.string().url().default('http://127.0.0.1:8123'),
  CLICKHOUSE_USER: z.string().default('default'),
  CLICKHOUSE_PASSWORD: z.string().default(''),
  CLICKHOUSE_DATABASE: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/).default('fleetstream'),
  HISTORY_TTL_DAYS: z.coerce.number().int().min(1).default(365),
  HISTORY_BATCH_ROWS: z.coerce.number().int().min(1).default(10_000),
  HISTORY_BATCH_MS: z.coerce.number().int().min(10).default(500),
  TWIN_SILENCE_S: z.coerce.number().int().min(1).default(300).describe('a device silent this long is offline (unless its gateway reports connectivity)'),
  TWIN_STORE_PATH: z.string().optional().describe('LMDB directory of the twin read model, rebuilt from fleet.twins at start; default <data dir>/twins'),
  TWIN_MAX_PATCH_BYTES: z.coerce.number().int().min(2).default(64 * 1024).describe('largest desired-state patch'),
  VIEW_STUCK_S: z.coerce.number().int().min(1).default(30).describe('/ready fails for a read model behind its topic that made no progress this long'),
  PROCESSOR_STUCK_S: z.coerce.number().int().min(1).default(30).describe('/ready fails for a processor (twins, commands, history) whose batch has been failing this long'),
  TWIN_MAX_DESIRED_BYTES: z.coerce.number().int().min(2).default(64 * 1024).describe("largest desired state (JSON bytes of the whole object after a patch)"),
  TWIN_MAX_REPORTED_FIELDS: z.coerce.number().int().min(1).default(1000).describe('most reported fields (metric and attribute names) a twin holds'),
  TWIN_MAX_SNAPSHOT_BYTES: z.coerce.number().int().min(1024).default(512 * 1024).describe("largest twin snapshot on fleet.twins (Avro bytes); kept under the topic's max.message.bytes"),
  COMMAND_MAX_PARAMS_BYTES: z.coerce.number().int().min(2).default(64 * 1024).describe("largest command params (JSON bytes)"),
  ROLLUP_MAX_BUCKETS: z.coerce.number().int().min(1).default(10_000).describe('most buckets one rollup query may span'),
  COMMAND_TTL_S: z.coerce.number().positive().max(365 * 86_400).default(24 * 3600).describe('default time to live of a command (not delivered by then: expired)'),
  COMMAND_DELIVERY_TIMEOUT_S: z.coerce.number().positive().max(365 * 86_400).default(30).describe('default wait for the delivered acknowledgment before a resend'),
  COMMAND_ACCEPTANCE_TIMEOUT_S: z.coerce.number().positive().max(365 * 86_400).default(60).describe('default wait from delivered to accepted'),
  COMMAND_EXECUTION_TIMEOUT_S: z.coerce.number().positive().max(365 * 86_400).default(600).describe('default wait from accepted to succeeded or failed'),
  COMMAND_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(1000).default(5).describe('default number of sends'),
  COMMAND_BACKOFF_INITIAL_MS: z.coerce.number().int().min(0).max(365 * 86_400_000).default(1000).describe('wait before the first resend; doubles with each'),
  COMMAND_BACKOFF_MAX_MS: z.coerce.number().int().min(0).max(365 * 86_400_000).default(60_000).describe('longest wait between resends'),
  COMMAND_TICK_MS: z.coerce.number().int().min(10).default(100).describe('how often the command saga checks deadlines and held commands'),
  ALERT_TICK_MS: z.coerce.number().int().min(10).default(1000).describe('how often the alert processor checks forSeconds and absence deadlines and rule changes'),
  COMMAND_RETENTION_S: z.coerce.number().positive().default(7 * 24 * 3600).describe('how long an ended command stays readable (and its Idempotency-Key honoured) before it is forgotten'),
  TELEMETRY_MAX_FUTURE_SKEW_S: z.coerce.number().int().min(0).default(300).describe('dead-letter readings further in the future'),
  TELEMETRY_MAX_AGE_DAYS: z.coerce.number().int().min(1).default(365).describe('dead-letter readings older than this'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('JSON log lines at this level and above'),
  ADMIN_API_KEY: unsetWhenEmpty(z.string().min(32, 'at least 32 characters; generate one with `openssl rand -base64 32`'))
    .describe('bootstrap admin credential (principal "bootstrap-admin"); without it the service starts only when fleet.api-keys holds a live key or OIDC is configured'),
  OIDC_ISSUER: unsetWhenEmpty(z.string().url()).describe('issuer (iss) that JWT bearer tokens must carry; with OIDC_AUDIENCE and OIDC_JWKS_URL'),
  OIDC_AUDIENCE: unsetWhenEmpty(z.string()).describe('audience (aud) that JWT bearer tokens must carry'),
  OIDC_JWKS_URL: unsetWhenEmpty(z.string().url()).describe("the identity provider's JSON Web Key Set, which signs the tokens"),
  OIDC_ROLES_CLAIM: z.string().min(1).default('roles').describe('claim holding the caller\'s fleetstream roles; a dotted path reaches nested claims (realm_access.roles)'),
  OIDC_CONSOLE_CLIENT_ID: unsetWhenEmpty(z.string()).describe("the console's client at the identity provider: a public client (no secret) with the authorization code flow and PKCE, redirect URI <console origin>/signin-callback, web origin the console's; with the OIDC_* settings. Unset: the console signs in with API keys only"),
  OIDC_CONSOLE_SCOPE: z.string().min(1).default('openid').describe('the scopes the console asks for (space-separated): those your provider needs to put OIDC_AUDIENCE and the roles claim in the access token'),
  WRITE_RATE_LIMIT: z.coerce.number().int().min(1).default(600).describe('writes (POST, PATCH, PUT, DELETE) one principal may make per minute on one instance; more get 429'),
  SSE_MAX_STREAMS_PER_PRINCIPAL: z.coerce.number().int().min(1).default(20).describe('concurrent Server-Sent Event streams one principal may hold on one instance'),
  CONSOLE_DIR: z.string().default(resolve(process.cwd(), 'apps/console/dist')).describe('the built console (`npm run build`), served at /; a directory without index.html: no console'),
  CORS_ORIGINS: commaList.default('').describe('browser origins allowed to call the API (comma-separated); empty: CORS off'),
  SQL_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8123).describe("port of the read-only ClickHouse HTTP interface over the embedded history (bound on HTTP_HOST; with HISTORY_TRANSPORT=chdb where PROCESSORS includes history); 0: off"),
  SQL_MAX_CONCURRENT_QUERIES: z.coerce.number().int().min(1).default(2).describe('SQL interface queries running at once; more are refused (ClickHouse error 202, HTTP 429)'),
  SQL_STALLED_CLIENT_TIMEOUT_S: z.coerce.number().int().min(1).default(30).describe('an SQL interface client that reads nothing of its result for this long is cut off and its query slot freed (the engine does not count that time against max_execution_time)'),
  SQL_MAX_EXECUTION_TIME_S: z.coerce.number().int().min(1).default(60).describe('longest run of one SQL interface query (max_execution_time)'),
  SQL_MAX_RESULT_ROWS: z.coerce.number().int().min(1).default(100_000_000).describe('most rows one SQL interface query may return (max_result_rows)'),
  SQL_MAX_RESULT_BYTES: z.coerce.number().int().min(1).default(10 * 1024 ** 3).describe('most uncompressed result bytes of one SQL interface query (max_result_bytes)'),
  SQL_MAX_WHOLE_RESULT_BYTES: z.coerce.number().int().min(1).default(256 * 1024 ** 2).describe('most result bytes of one SQL interface query in a format made whole in memory before it is sent (Parquet, Arrow, JSON, …; max_result_bytes); streamed formats have SQL_MAX_RESULT_BYTES'),
  SQL_MAX_WHOLE_RESULT_ROWS: z.coerce.number().int().min(1).default(1_000_000).describe('most rows of one SQL interface query in a format made whole in memory (max_result_rows): JSON and XML repeat the column names on every row'),
  SQL_MAX_MEMORY_BYTES: z.coerce.number().int().min(1).default(1024 ** 3).describe('memory one SQL interface query may use (max_memory_usage)'),
  SQL_MAX_THREADS: z.coerce.number().int().min(1).default(1).describe('threads one SQL interface query may use (max_threads); ingest keeps the rest'),
  SQL_OS_THREAD_PRIORITY: z.coerce.number().int().min(0).max(19).default(19).describe("nice value of the threads that run SQL interface queries (os_thread_priority): 19 lets ingest and REST go first when the cores are busy; 0 runs them like the service's own threads"),
  TELEMETRY_MAX_RECORD_BYTES: z.coerce.number().int().min(64).default(256 * 1024).describe('dead-letter larger records'),
  ALERT_WEBHOOKS: jsonText
    .pipe(z.array(alertWebhook).superRefine(alertWebhookRules))
    .default('[]')
    .describe('alert webhooks, a JSON list of {"url", "secret", "name"?, "scope"?}: a "global" sink (the default) gets every alert event, a "rule" sink those of the rules whose "notify" names it; each signed with its secret (where PROCESSORS includes notifications)'),
  ALERT_WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(100).max(300_000).default(5000).describe('longest wait for a webhook to answer one delivery attempt'),
  ALERT_WEBHOOK_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(100).default(8).describe('delivery attempts before a notification goes to the notification dead-letter topic'),
  ALERT_WEBHOOK_BACKOFF_INITIAL_MS: z.coerce.number().int().min(0).max(3_600_000).default(1000).describe('wait after the first failed attempt; doubles with each'),
  ALERT_WEBHOOK_BACKOFF_MAX_MS: z.coerce.number().int().min(0).max(3_600_000).default(60_000).describe('longest wait between attempts'),
}).superRefine((config, context) => {
  kafkaSecurityRules(config, context);
  historyTopologyRules(config, context);
});

export type FleetstreamConfig = z.infer<typeof fleetstreamConfigSchema>;

/** Parses and validates settings; throws one error that lists every bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): FleetstreamConfig {
  const parsed = fleetstreamConfigSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid fleetstream configuration (fix these environment variables): ${problems.join('; ')}`);
  }
  return parsed.data;
}

/** The telemetry rules (TELEMETRY_*) in the units the rule checks use. */
export function telemetryRules(config: FleetstreamConfig) {
  return {
    maxFutureSkewMs: config.TELEMETRY_MAX_FUTURE_SKEW_S * 1000,
    maxPastAgeMs: config.TELEMETRY_MAX_AGE_DAYS * 86_400_000,
    maxRecordBytes: config.TELEMETRY_MAX_RECORD_BYTES,
  };
}

export function chdbPath(config: FleetstreamConfig): string {
  return config.CHDB_PATH ?? resolve(config.FLEETSTREAM_DATA_DIR, 'chdb');
}

/** The twin read model's LMDB directory; one service process per directory, emptied at start. */
export function twinStorePath(config: FleetstreamConfig): string {
  return config.TWIN_STORE_PATH ?? resolve(config.FLEETSTREAM_DATA_DIR, 'twins');
}

/** The webhook delivery policy (ALERT_WEBHOOK_*) in the units the delivery decider uses. */
export function webhookDeliveryPolicy(config: FleetstreamConfig) {
  return {
    maxAttempts: config.ALERT_WEBHOOK_MAX_ATTEMPTS,
    backoff: { initialMs: config.ALERT_WEBHOOK_BACKOFF_INITIAL_MS, maxMs: config.ALERT_WEBHOOK_BACKOFF_MAX_MS },
  };
}

/** The twin decider's settings (TWIN_*) in the units the decider uses. */
export function twinSettings(config: FleetstreamConfig) {
  return {
    silenceMs: config.TWIN_SILENCE_S * 1000,
    maxPatchBytes: config.TWIN_MAX_PATCH_BYTES,
    maxDesiredBytes: config.TWIN_MAX_DESIRED_BYTES,
    maxReportedFields: config.TWIN_MAX_REPORTED_FIELDS,
  };
}
