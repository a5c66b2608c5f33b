import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** STYLE.md rule 1: libs/domain is pure — no framework, Kafka, registry, ClickHouse or Node I/O imports. */
const FORBIDDEN = /from '(@nestjs\/|kafkajs|@kafkajs\/|avsc|chdb|@clickhouse\/|node:|fs|net|http|@fleetstream\/(kafka|serde|history|config))/;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('libs/domain', () => {
  it.each(sources(__dirname))('%s imports no I/O', (file) => {
    const offending = readFileSync(file, 'utf8').split('\n').filter((line) => FORBIDDEN.test(line));
    expect(offending).toEqual([]);
  });
});
