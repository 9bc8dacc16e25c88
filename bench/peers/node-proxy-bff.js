/**
 * Peer "node-proxy-bff": node-proxy doing the header work a BFF cannot skip, and nothing else. It
 * drops the browser's Cookie and anti-forgery header, sends a Bearer token the size of the demo
 * provider's JWT access tokens (RS256, about 720 characters) and the X-Forwarded-* and
 * X-Request-Id headers upstream, and answers with the same security headers Gatehouse puts on API
 * responses. No session, no checks. It shows what those bytes cost a bare Node proxy written the
 * way @fastify/reply-from's README suggests, next to what they cost Gatehouse.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import replyFrom from '@fastify/reply-from';
import Fastify from 'fastify';

const TOKEN = randomBytes(540).toString('base64url'); // 720 characters
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};
const publicHost = `127.0.0.1:${process.env.PORT}`;

const app = Fastify({ logger: false });
await app.register(replyFrom, { base: process.env.UPSTREAM });
app.removeAllContentTypeParsers();
app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
const options = {
  rewriteRequestHeaders(request, headers) {
    const out = {};
    for (const name in headers) if (name !== 'cookie' && name !== 'x-csrf') out[name] = headers[name];
    out.authorization = `Bearer ${TOKEN}`;
    out['x-forwarded-for'] = request.ip;
    out['x-forwarded-host'] = publicHost;
    out['x-forwarded-proto'] = 'http';
    out['x-request-id'] = randomUUID();
    return out;
  },
  rewriteHeaders: (headers) => ({ ...headers, ...SECURITY_HEADERS }),
};
app.all('/api/*', (request, reply) => reply.from(request.url.slice('/api'.length), options));
await app.listen({ host: '127.0.0.1', port: Number(process.env.PORT) });

process.once('SIGTERM', () => app.close().then(() => process.exit(0)));
process.once('SIGINT', () => app.close().then(() => process.exit(0)));
