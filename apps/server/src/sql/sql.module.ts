import { Module } from '@nestjs/common';
import { SqlHttpServer } from './sql-http.server';

/** Analysts' SQL: ClickHouse's HTTP interface, read-only, over the embedded history (SQL_HTTP_PORT). */
@Module({ providers: [SqlHttpServer] })
export class SqlModule {}
