import { ArgumentsHost, Catch, NotFoundException } from '@nestjs/common';
import { BaseExceptionFilter } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Request, Response } from 'express';
import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import { allowedMethods, MethodNotAllowedFilter, RouteLayer } from '../common/method-not-allowed.filter';

/** Vite writes every file whose name carries its content hash under assets/: its URL never changes content. */
const HASHED_ASSETS = `${sep}assets${sep}`;
export const IMMUTABLE = 'public, max-age=31536000, immutable';
/** Revalidated on every load, so a new build's index.html (naming new hashed assets) is seen at once. */
export const REVALIDATE = 'no-cache';

/**
 * Serves the built console (apps/console, Vite) from `dir`: its files as they are, long-cached when
 * their names are hashed. Answers the path of its index.html, or undefined when `dir` holds no build.
 */
export function serveConsole(app: NestExpressApplication, dir: string): string | undefined {
  const indexFile = join(dir, 'index.html');
  if (!existsSync(indexFile)) return undefined;
  // index: false: "/" is a client route like any other, answered by ConsoleFallbackFilter
  app.useStaticAssets(dir, { index: false, redirect: false, setHeaders: (res, path) => res.setHeader('Cache-Control', path.includes(HASHED_ASSETS) ? IMMUTABLE : REVALIDATE) });
  return indexFile;
}

/**
 * A browser loading a page (not a script or an API client): GET or HEAD that prefers HTML to JSON.
 * At `/`, which no API route has, a client that takes any type (curl's default Accept) gets the console too.
 */
function isPageLoad(request: Request): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  return request.path === '/' ? request.accepts(['html', 'json']) === 'html' : request.accepts(['json', 'html']) === 'html';
}

/**
 * The console routes on the client (/devices/…, /alarms): a page load of a path no server route has
 * gets the console's index.html, which shows that page. Every path a route serves keeps its answer
 * (an unknown device is still a JSON 404), and API clients asking for JSON get the JSON 404.
 */
@Catch(NotFoundException)
export class ConsoleFallbackFilter extends MethodNotAllowedFilter {
  constructor(
    private readonly indexFile: string,
    routes: () => readonly RouteLayer[],
    ...base: ConstructorParameters<typeof BaseExceptionFilter>
  ) {
    super(routes, ...base);
  }

  override catch(exception: NotFoundException, host: ArgumentsHost): void {
    const request = host.switchToHttp().getRequest<Request>();
    if (!isPageLoad(request) || allowedMethods(this.routes(), request.path).length > 0) return super.catch(exception, host);
    host.switchToHttp().getResponse<Response>().sendFile(this.indexFile, { headers: { 'Cache-Control': REVALIDATE } });
  }
}
