import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional, ApiSchema, ApiSchemaOptions } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsDate, IsInt, IsOptional, Matches, Max, Min } from 'class-validator';
import { parseDateTime } from './date-time';

/** An optional RFC 3339 date-time query parameter, converted to a Date, with an error naming it. */
export function OptionalDateTimeQuery(name: string, description: string) {
  return applyDecorators(
    ApiPropertyOptional({ description, type: String, format: 'date-time' }),
    IsOptional(),
    // anything else stays a string, which IsDate refuses
    Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? (parseDateTime(value) ?? value) : value)),
    IsDate({ message: `${name} must be an ISO 8601 date-time (RFC 3339), e.g. 2026-11-23T10:00:00Z` }),
  );
}

/** An optional page size query parameter, 1 to `maximum`. */
export function OptionalLimitQuery(description: string, maximum: number) {
  return applyDecorators(
    ApiPropertyOptional({ description, type: 'integer', default: 100, minimum: 1, maximum }),
    IsOptional(),
    Type(() => Number),
    IsInt({ message: 'limit must be a whole number' }),
    Min(1),
    Max(maximum),
  );
}

/**
 * An optional string that matches `pattern`: one regular expression for the 400 and the OpenAPI
 * schema. Patterns are written to mean the same to JavaScript and to the tools that read the
 * document (say, Python's `re`): ASCII classes such as `[0-9]`, not `\d`, which is Unicode there.
 */
export function OptionalMatching(pattern: string, message: string, description: string, example?: string) {
  return applyDecorators(
    ApiPropertyOptional({ description, type: String, pattern, example }),
    IsOptional(),
    Matches(new RegExp(pattern), { message }),
  );
}

/**
 * A body DTO whose OpenAPI schema says `additionalProperties: false`, as the ValidationPipe
 * (forbidNonWhitelisted) answers an unknown property with 400. ApiSchema copies every option but
 * `name` into the schema, though its type names only `description`.
 */
export function ClosedSchema(): ClassDecorator {
  return ApiSchema({ additionalProperties: false } as ApiSchemaOptions);
}
