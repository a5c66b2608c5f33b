import express from 'express';
import { allowedMethods, RouteLayer } from './method-not-allowed.filter';

describe('allowedMethods on the routes of an Express app', () => {
  const app = express();
  const noop = () => undefined;
  app.use(noop); // middleware matches every path and must not count as a route
  app.all('{/*splat}', noop); // how Nest mounts middleware for every route: every method, every path
  app.put('/*path', noop); // how Nest mounts middleware for some methods (the audit of writes)
  app.get('/devices', noop);
  app.get('/devices/:deviceId/twin', noop);
  app.patch('/devices/:deviceId/twin/desired', noop);
  app.delete('/devices/:deviceId', noop);
  app.post('/devices/:deviceId/commands', noop);
  const stack = () => (app as unknown as { router: { stack: RouteLayer[] } }).router.stack;

  it('lists the methods of every route on the path, HEAD with GET', () => {
    expect(allowedMethods(stack(), '/devices')).toEqual(['GET', 'HEAD']);
    expect(allowedMethods(stack(), '/devices/dev-1/twin')).toEqual(['GET', 'HEAD']);
    expect(allowedMethods(stack(), '/devices/dev-1/twin/desired')).toEqual(['PATCH']);
    expect(allowedMethods(stack(), '/devices/dev-1')).toEqual(['DELETE']);
  });

  it('lists nothing for a path no route has, so it stays a 404', () => {
    expect(allowedMethods(stack(), '/nowhere')).toEqual([]);
    expect(allowedMethods(stack(), '/devices/dev-1/twin/elsewhere')).toEqual([]);
  });

  it('lists nothing for a path whose parameters do not decode', () => {
    expect(allowedMethods(stack(), '/devices/%E0%A4%A/twin')).toEqual([]);
  });
});
