import { BadRequestException, Injectable, PipeTransform } from '@nestjs/common';

/**
 * A desired-state body must be a JSON object (RFC 7386 merge patch). Checked at the edge, before the
 * twin is read: a body that is no patch is a 400 whatever If-Match says (the decider would first
 * answer the version check with 412). A missing body arrives as undefined and is refused too.
 */
@Injectable()
export class MergePatchPipe implements PipeTransform<unknown, Record<string, unknown>> {
  transform(value: unknown): Record<string, unknown> {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new BadRequestException({ statusCode: 400, message: 'the body must be a JSON object: a desired-state merge patch (RFC 7386)', reason: 'invalid-patch' });
    }
    return value as Record<string, unknown>;
  }
}
