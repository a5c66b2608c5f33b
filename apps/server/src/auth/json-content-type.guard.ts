import { CanActivate, ExecutionContext, HttpStatus, Injectable, UnsupportedMediaTypeException } from '@nestjs/common';
import type { Request } from 'express';

const WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);
/** application/json and its +json kin (application/merge-patch+json). */
const JSON_TYPE = /^application\/([a-z0-9.-]+\+)?json\s*(;|$)/i;

/**
 * Writes carry a JSON content type: a browser sends a cross-site form or "simple" POST (text/plain,
 * form encodings) without a CORS preflight, and this refuses it before it reaches a controller.
 */
@Injectable()
export class JsonContentTypeGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    if (!WITH_BODY.has(request.method)) return true;
    const type = request.headers['content-type'];
    if (type !== undefined && JSON_TYPE.test(type)) return true;
    throw new UnsupportedMediaTypeException({
      statusCode: HttpStatus.UNSUPPORTED_MEDIA_TYPE,
      error: 'Unsupported Media Type',
      message: `${request.method} needs a JSON body with Content-Type: application/json (merge patches: application/merge-patch+json); got ${type ?? 'no Content-Type'}`,
    });
  }
}
