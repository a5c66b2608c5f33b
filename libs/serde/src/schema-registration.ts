import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { setTimeout as sleep } from 'node:timers/promises';

/** The compatibility fleetstream gives its subjects when they have none: schemas evolve by adding fields with defaults. */
export const SUBJECT_COMPATIBILITY = 'BACKWARD';

/** What a subject without a compatibility rule reports (Apicurio answers the global default, NONE). */
const NO_RULE = 'NONE';

const RETRY_DELAYS_MS = [200, 500, 1000, 2000, 5000];

/** The registry refused the schema (incompatible, invalid, access denied): retrying cannot help. */
export class SchemaRefusedError extends Error {
  override readonly name = 'SchemaRefusedError';
}

export interface SchemaRegistrationOptions {
  /** Where each retry is reported; console.warn by default. */
  log?: (message: string) => void;
  /** Waits between attempts; the last one repeats. */
  retryDelaysMs?: readonly number[];
}

interface RegistryResponse<T> {
  data(): T;
}

/** The registry client's own HTTP resources (its host, auth, agent and retry settings). */
interface SubjectApi {
  config(params: { subject: string }): Promise<RegistryResponse<{ compatibilityLevel: string }>>;
  updateConfig(params: { subject: string; body: { compatibility: string } }): Promise<RegistryResponse<unknown>>;
  register(params: { subject: string; body: { schema: string } }): Promise<RegistryResponse<{ id: number }>>;
}

/**
 * Registers an Avro schema under a subject and returns its id; idempotent and safe when several
 * instances register the same schemas at once (they all get the same id).
 *
 * Not the client's `register`: it reads the subject's compatibility, registers, then creates the
 * compatibility rule, so two instances starting together race — one sees the subject between the
 * other's registration and rule (Apicurio answers NONE: "Compatibility does not match"), or both
 * create the rule ("A rule named 'COMPATIBILITY' already exists"). Here the rule is set first
 * (only when the subject has none; a level an operator chose is kept), a lost race to create it
 * counts as done, and registering the same schema again answers the existing id.
 *
 * An unreachable registry or a 5xx answer is retried with backoff, forever, each retry logged; a
 * refusal throws a SchemaRefusedError that names the subject and what to do.
 */
export async function registerSchema(registry: SchemaRegistry, subject: string, schema: string, options: SchemaRegistrationOptions = {}): Promise<number> {
  const api = subjectApi(registry);
  const delays = options.retryDelaysMs ?? RETRY_DELAYS_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureCompatibility(api, subject);
      const { id } = (await api.register({ subject, body: { schema } })).data();
      await registry.getSchema(id); // cached for encode, as the client's own register does
      return id;
    } catch (error) {
      const refusal = refusalOf(error, subject);
      if (refusal) throw refusal;
      const delay = delays[Math.min(attempt - 1, delays.length - 1)]!;
      (options.log ?? console.warn)(
        `schema registry: registering subject ${subject} failed (attempt ${attempt}), retrying in ${delay} ms: ${oneLine(error)}`,
      );
      await sleep(delay);
    }
  }
}

function subjectApi(registry: SchemaRegistry): SubjectApi {
  // the client has no public call for subject configs; its resources are the same HTTP client register uses
  return (registry as unknown as { api: { Subject: SubjectApi } }).api.Subject;
}

/** The subject's compatibility level; null when the registry does not know the subject. */
async function compatibilityOf(api: SubjectApi, subject: string): Promise<string | null> {
  try {
    return (await api.config({ subject })).data().compatibilityLevel.toUpperCase();
  } catch (error) {
    if (statusOf(error) === 404) return null;
    throw error;
  }
}

async function ensureCompatibility(api: SubjectApi, subject: string): Promise<void> {
  const level = await compatibilityOf(api, subject);
  if (level !== null && level !== NO_RULE) return;
  try {
    await api.updateConfig({ subject, body: { compatibility: SUBJECT_COMPATIBILITY } });
  } catch (error) {
    // another instance created the rule at the same moment: it is set, which is all we want
    if (statusOf(error) === 409 && ((await compatibilityOf(api, subject)) ?? NO_RULE) !== NO_RULE) return;
    throw error;
  }
}

/** A SchemaRefusedError when the registry's answer means retrying cannot help; undefined for transient faults. */
function refusalOf(error: unknown, subject: string): SchemaRefusedError | undefined {
  const why = oneLine(error);
  switch (statusOf(error)) {
    case 409:
      return new SchemaRefusedError(
        `schema registry refuses the schema for subject ${subject} as incompatible with the versions it holds (${why}); ` +
          'change the schema only by adding fields with defaults, or give the topic a new subject',
      );
    case 422:
      return new SchemaRefusedError(`schema registry refuses the schema for subject ${subject} as invalid (${why}); fix the schema file`);
    case 401:
    case 403:
      return new SchemaRefusedError(`schema registry denies registering subject ${subject} (${why}); check SCHEMA_REGISTRY_URL and its credentials`);
    case 404:
      return new SchemaRefusedError(
        `schema registry has no subjects API at the configured URL (${why}); set SCHEMA_REGISTRY_URL to its Confluent-compatible API (Apicurio: http://<host>:8081/apis/ccompat/v7)`,
      );
    default:
      return undefined; // unreachable (the client reports that as status 400), 5xx, timeouts: try again
  }
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : undefined;
}

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim();
}
