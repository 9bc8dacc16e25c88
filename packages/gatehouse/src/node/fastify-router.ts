/**
 * The Router of http/router.ts on a Fastify scope: each endpoint becomes a Fastify route, and the
 * body kind its endpoints declare gets its parser (one kind per scope, registered once, so one
 * plugin's parsers never reach another's routes). JSON is Fastify's own parser (other types 415);
 * elsewhere a body no endpoint declared is not read, as on the fetch runtimes, so a method a path
 * does not serve gets its 405, not a 415.
 */
import type { FastifyInstance, HTTPMethods } from 'fastify';
import type { EndpointOptions, Handler, Router } from '../http/router.js';

type Body = NonNullable<EndpointOptions['body']>;

export function fastifyRouter(app: FastifyInstance): Router {
  const skip = (_request: unknown, _payload: unknown, done: (error: null) => void) => done(null);
  let declared: Body['kind'] | undefined;
  let skipping = false;

  const prepare = (body: Body | undefined) => {
    if (body && declared && body.kind !== declared) {
      throw new Error(`one body kind per scope: ${declared} and ${body.kind}`);
    }
    if (body?.kind === 'json' || declared === 'json') {
      if (skipping) throw new Error('declare JSON endpoints first in their scope');
      declared = 'json';
      return;
    }
    if (body && !declared) {
      declared = body.kind;
      if (body.kind === 'stream') {
        app.removeAllContentTypeParsers(); // streamed upstream as it arrives: no parser may read it
      } else {
        const { kind, limit } = body;
        app.addContentTypeParser(
          'application/x-www-form-urlencoded',
          { parseAs: 'string', bodyLimit: limit },
          (_request, text, done) => done(null, kind === 'form' ? text : new URLSearchParams(text as string)),
        );
      }
    }
    if (!skipping) {
      app.addContentTypeParser('*', skip);
      skipping = true;
    }
  };

  return {
    route(methods, path, handler: Handler, options: EndpointOptions = {}) {
      prepare(options.body);
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
