import { ArgumentsHost, Catch, HttpStatus, MethodNotAllowedException, NotFoundException } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { Request, Response } from 'express';
import { METHODS } from 'node:http';

/** What this filter needs of an Express router layer (router 2.x: `match` and, for routes, `_methods`). */
export interface RouteLayer {
  match(path: string): unknown;
  route?: { path?: string; _methods(): string[] } | undefined;
}

/**
 * The methods the routes matching `path` answer (HEAD with GET, as Express does); empty when no
 * route has that path. A path that does not decode (a bad %-escape) matches nothing. Catch-all
 * routes are left out: those that answer every method (Nest mounts middleware for all routes with
 * `app.all`) and wildcard paths (middleware for some methods, like the audit of writes), which say
 * nothing about what the path itself serves.
 */
export function allowedMethods(layers: readonly RouteLayer[], path: string): string[] {
  const methods = new Set<string>();
  for (const layer of layers) {
    if (!layer.route) continue; // middleware, not a route
    const served = layer.route._methods();
    if (served.length >= METHODS.length || layer.route.path?.includes('*')) continue;
    let matches: unknown;
    try {
      matches = layer.match(path);
    } catch {
      matches = false;
    }
    if (matches) for (const method of served) methods.add(method);
  }
  return [...methods].sort();
}

/**
 * Nest answers a method no route has on a path that exists (TRACE /devices, PUT /health) with its
 * router's 404, as if the path did not exist. RFC 9110 wants 405 with an Allow header there, and so
 * does the OpenAPI contract test. Only 404s get here, so a served request pays nothing; a 404 from
 * a controller (an unknown device) keeps its answer, because its path does serve that method.
 */
@Catch(NotFoundException)
export class MethodNotAllowedFilter extends BaseExceptionFilter {
  constructor(protected readonly routes: () => readonly RouteLayer[], ...base: ConstructorParameters<typeof BaseExceptionFilter>) {
    super(...base);
  }

  override catch(exception: NotFoundException, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<Request>();
    const allowed = allowedMethods(this.routes(), request.path);
    const method = request.method === 'HEAD' ? 'GET' : request.method;
    if (allowed.length === 0 || allowed.includes(method)) return super.catch(exception, host);
    host.switchToHttp().getResponse<Response>().setHeader('Allow', allowed.join(', '));
    super.catch(
      new MethodNotAllowedException({ statusCode: HttpStatus.METHOD_NOT_ALLOWED, error: 'Method Not Allowed', message: `${request.method} is not allowed on ${request.path}; allowed: ${allowed.join(', ')}` }),
      host,
    );
  }
}
