import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Schema as AvroSchemaJson } from 'avsc';

/** The schemas/ folder of the repository, found from here so it works from sources and from dist/. */
export function schemasDir(): string {
  for (let dir = __dirname; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, 'schemas', 'telemetry.avsc'))) return join(dir, 'schemas');
  }
  throw new Error(`schemas/telemetry.avsc not found above ${__dirname}; run fleetstream from its repository checkout`);
}

/** Reads schemas/<name>.avsc. */
export function readAvroSchema(name: string): AvroSchemaJson {
  return JSON.parse(readFileSync(join(schemasDir(), `${name}.avsc`), 'utf8')) as AvroSchemaJson;
}

/** A record schema without some of its top-level fields: what it was before they were added (for compatibility checks against older writers). */
export function schemaWithout(schema: AvroSchemaJson, fieldNames: readonly string[]): AvroSchemaJson {
  const record = schema as { fields: { name: string }[] };
  return { ...record, fields: record.fields.filter((field) => !fieldNames.includes(field.name)) } as AvroSchemaJson;
}
