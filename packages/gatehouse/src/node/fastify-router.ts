/**
 * The Router of http/router.ts on a Fastify scope: each endpoint becomes a Fastify route, and the
 * body kind its endpoints declare gets its parser (one kind per scope, registered once, so one
 * plugin's parsers never reach another's routes). A body no endpoint declared is not read, as on
 * the fetch runtimes (and a method a path does not serve gets its 405, not a 415).
 */
import type { FastifyInstance, HTTPMethods } from 'fastify';
import type { EndpointOptions, Handler, Router } from '../http/router.js';

type BodyKind = NonNullable<EndpointOptions['body']>['kind'];

export function fastifyRouter(app: FastifyInstance): Router {
  const skip = (_request: unknown, _payload: unknown, done: (error: null) => void) => done(null);
  app.addContentTypeParser('*', skip);
  let declared: BodyKind | undefined;
  const parse = (body: NonNullable<EndpointOptions['body']>) => {
    if (declared === body.kind) return;
    if (declared) throw new Error(`one body kind per scope: ${declared} and ${body.kind}`);
    declared = body.kind;
    if (body.kind === 'json') return; // Fastify's own JSON parser
    if (!('limit' in body)) {
      // Streamed to the upstream as it arrives: no parser may read it.
      app.removeAllContentTypeParsers();
      app.addContentTypeParser('*', skip);
      return;
    }
    const { kind, limit } = body;
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: limit },
      (_request, text, done) => done(null, kind === 'form' ? text : new URLSearchParams(text as string)),
    );
  };
  return {
    route(methods, path, handler: Handler, options: EndpointOptions = {}) {
      if (options.body) parse(options.body);
      app.route({
        method: (typeof methods === 'string' ? [methods] : [...methods]) as HTTPMethods[],
        url: path,
        handler,
        exposeHeadRoute: false,
        config: { htmlErrors: options.htmlErrors },
      });
    },
  };
}
