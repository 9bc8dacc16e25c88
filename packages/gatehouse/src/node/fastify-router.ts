/**
 * The Router of http/router.ts on a Fastify scope: each endpoint becomes a Fastify route, and the
 * bodies endpoints declare get their parsers (registered once per scope, so one plugin's parsers
 * never reach another's routes); JSON is Fastify's own parser.
 */
import type { FastifyInstance, HTTPMethods } from 'fastify';
import type { EndpointOptions, Handler, Router } from '../http/router.js';

export function fastifyRouter(app: FastifyInstance): Router {
  // A body no endpoint declared is not read (as on the fetch runtimes): no 415 for a method the path does not serve.
  app.addContentTypeParser('*', (_request, _payload, done) => done(null));
  let formParser: 'form' | 'form-params' | undefined;
  const parse = (body: NonNullable<EndpointOptions['body']>) => {
    if (body.kind === 'json') return; // Fastify's own JSON parser
    if (formParser === body.kind) return;
    if (formParser) throw new Error('one form body kind per scope');
    formParser = body.kind;
    const kind = body.kind;
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: body.limit },
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
