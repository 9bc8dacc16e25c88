/**
 * Peer "node-proxy": the bare Node proxy every ratio is measured against. Fastify +
 * @fastify/reply-from with its default undici pool, /api/* to the upstream with the prefix
 * stripped, bodies streamed both ways. No session, no token, no checks, no logging: the floor of
 * what a Node proxy costs per request.
 *
 * The peers are plain JavaScript run by plain `node`, like Gatehouse's compiled dist: tsx turns on
 * source-map support, which makes every Error (and so some library paths) slower.
 */
import replyFrom from '@fastify/reply-from';
import Fastify from 'fastify';

const app = Fastify({ logger: false });
await app.register(replyFrom, { base: process.env.UPSTREAM });
// Bodies stream through to the upstream untouched: the request stream itself becomes the body,
// which reply-from pipes upstream (its README's way of proxying any content type).
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
app.all('/api/*', (request, reply) => reply.from(request.url.slice('/api'.length)));
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) });

process.once('SIGTERM', () => app.close().then(() => process.exit(0)));
process.once('SIGINT', () => app.close().then(() => process.exit(0)));
