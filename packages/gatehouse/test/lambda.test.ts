/**
 * The Lambda handler behind each event source it supports, through the local event bridge
 * (support/lambda.ts): function URLs buffered and streamed, and load balancers with and without
 * multi-value headers. Binary bodies pass both ways byte for byte; an answer larger than the
 * source can carry is a clear 502, never a cut-off success; streaming carries it whole; secrets
 * come from Secrets Manager through the extension's local endpoint (the one stand-in for AWS).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TestBrowser } from './support/browser.js';
import { requestOf, type HttpApiEvent } from '../src/lambda/events.js';
import { startLambdaBridge, type EventSource, type LambdaBridge } from './support/lambda.js';
import { REDIS_URL, redisUnavailable, testPrefix } from './support/redis.js';
import { authorizationResponse, signIn, stackParts, type StackParts } from './support/stack.js';

const skip = await redisUnavailable();
const BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/** The stack's document as a Lambda takes it: sessions in Redis, no listener settings. */
function lambdaConfig(parts: StackParts): object {
  const { server: _server, admin: _admin, ...rest } = parts.config;
  return { ...rest, session: { ...rest.session, store: 'redis', redis: { url: REDIS_URL, keyPrefix: testPrefix() } } };
}

describe('the Lambda handler behind each event source', { skip }, () => {
  let parts: StackParts;
  let config: string;
  const bridges = new Map<EventSource, LambdaBridge>();
  before(async () => {
    parts = await stackParts();
    config = JSON.stringify(lambdaConfig(parts));
    const sources: EventSource[] = ['function-url-streaming', 'function-url', 'alb-multi-value', 'alb'];
    for (const source of sources) {
      // Each source at its own address; the provider knows only the first as the redirect URI, so the
      // others sign in through it too: sessions are shared (Redis), as behind one CloudFront.
      const port = source === 'function-url-streaming' ? parts.port : undefined;
      bridges.set(source, await startLambdaBridge(source, { config, env: {}, write: () => {}, port }));
    }
    parts.upstream.handle(async (req, res) => {
      if (req.url!.startsWith('/orders/echo-bytes')) {
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        return void res.end(parts.upstream.received.at(-1)!.bytes);
      }
      if (req.url!.startsWith('/orders/big-chunked')) {
        // No Content-Length: the size is only known as the bytes arrive.
        res.writeHead(200, { 'content-type': 'application/octet-stream' });
        for (let i = 0; i < 8; i++) res.write(Buffer.alloc(1024 * 1024, 7));
        return void res.end();
      }
      if (req.url!.startsWith('/orders/big')) {
        const size = Number(new URL(req.url!, 'http://x').searchParams.get('mb')) * 1024 * 1024;
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
        return void res.end(Buffer.alloc(size, 7));
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ url: req.url }));
    });
  });
  after(async () => {
    await Promise.all([...bridges.values()].map((b) => b.stop()));
    await Promise.all([parts?.idp.close(), parts?.upstream.close()]);
  });

  async function signedInCookie(): Promise<string> {
    const browser = new TestBrowser();
    const callback = await signIn(browser, { app: parts.app, idp: parts.idp });
    assert.equal(callback.status, 302, callback.body);
    return browser.jar.getCookieString(parts.app);
  }
  const apiHeaders = (cookie: string) => ({ cookie, 'x-csrf': '1', 'sec-fetch-site': 'same-origin' });
  const call = (source: EventSource, path: string, cookie: string, init: RequestInit = {}) =>
    fetch(`${bridges.get(source)!.url}${path}`, {
      ...init,
      headers: { ...apiHeaders(cookie), ...(init.headers as object) },
    });

  it('passes binary bodies both ways byte for byte, on every source', async () => {
    const cookie = await signedInCookie();
    for (const source of bridges.keys()) {
      const response = await call(source, '/api/orders/echo-bytes', cookie, {
        method: 'POST',
        headers: { 'content-type': 'application/octet-stream' },
        body: BYTES,
      });
      assert.equal(response.status, 200, source);
      assert.deepEqual(Buffer.from(await response.arrayBuffer()), BYTES, source);
    }
    const events = bridges.get('function-url')!.events;
    assert.equal(events.at(-1)!.isBase64Encoded, true);
  });

  it('answers 502 response_too_large where a buffered answer would not fit, and streams it whole', async () => {
    const cookie = await signedInCookie();
    for (const [source, mb] of [
      ['function-url', 5],
      ['alb-multi-value', 1],
    ] as const) {
      const response = await call(source, `/api/orders/big?mb=${mb}`, cookie);
      assert.equal(response.status, 502, source);
      assert.equal((await response.json()).error, 'response_too_large');
    }
    const streamed = await call('function-url-streaming', '/api/orders/big?mb=8', cookie);
    assert.equal(streamed.status, 200);
    assert.equal((await streamed.arrayBuffer()).byteLength, 8 * 1024 * 1024);
  });

  it('refuses a streamed answer past the streaming limit: 502 when its length is known, a broken answer when not', async () => {
    const cookie = await signedInCookie();
    const capped = await startLambdaBridge('function-url-streaming', {
      config,
      env: {},
      write: () => {},
      maxStreamedBytes: 4 * 1024 * 1024,
    });
    try {
      const known = await fetch(`${capped.url}/api/orders/big?mb=8`, { headers: apiHeaders(cookie) });
      assert.equal(known.status, 502);
      assert.equal((await known.json()).error, 'response_too_large');
      const unknown = await fetch(`${capped.url}/api/orders/big-chunked`, { headers: apiHeaders(cookie) });
      assert.equal(unknown.status, 200, 'the answer had begun');
      await assert.rejects(unknown.arrayBuffer(), 'the body ends broken, not complete-looking');
    } finally {
      await capped.stop();
    }
  });

  it('refuses rather than drops cookies on a load balancer without multi-value headers', async () => {
    const alb = bridges.get('alb')!.url;
    const browser = new TestBrowser();
    assert.equal((await browser.request(`${alb}/api/auth/login`, { navigate: true })).status, 302, 'one cookie passes');
    // The callback sets two (the session, the spent transaction): one would be lost, so none is sent.
    const callback = await authorizationResponse(browser, { app: parts.app, idp: parts.idp });
    const viaAlb = await browser.request(`${alb}${callback.pathname}${callback.search}`, {
      navigate: true,
      from: parts.idp.issuer,
      headers: { accept: 'application/json' },
    });
    assert.equal(viaAlb.status, 500);
    assert.equal(JSON.parse(viaAlb.body).error, 'server_error');
    assert.deepEqual(viaAlb.headers.getSetCookie(), []);
    const cookie = await signedInCookie();
    assert.equal((await call('alb', '/api/orders/1', cookie)).status, 200, 'an API call sets no cookie');
  });

  it('reads the request target as sent, not re-parsed', async () => {
    const cookie = await signedInCookie();
    const hostile = await call('function-url', '/api/orders/a%2Fb', cookie);
    assert.equal(hostile.status, 400);
    assert.equal((await hostile.json()).error, 'invalid_path');
    const event = bridges.get('function-url')!.events.at(-1)! as { rawPath: string };
    assert.equal(event.rawPath, '/api/orders/a%2Fb');
  });
});

describe('the client address of an event', () => {
  const urlEvent = (iam: boolean): HttpApiEvent => ({
    version: '2.0',
    rawPath: '/api/auth/user',
    rawQueryString: '',
    headers: { 'cloudfront-viewer-address': '[2001:db8::7]:50123', host: 'example.lambda-url.aws' },
    isBase64Encoded: false,
    requestContext: {
      domainName: 'example.lambda-url.aws',
      http: { method: 'GET', sourceIp: '203.0.113.9' },
      ...(iam ? { authorizer: { iam: { userArn: 'cloudfront' } } } : {}),
    },
  });

  it("trusts CloudFront's viewer address only when IAM (origin access control) proves CloudFront sent the event", () => {
    assert.equal(requestOf(urlEvent(true)).ip, '2001:db8::7');
    assert.equal(requestOf(urlEvent(false)).ip, '203.0.113.9', 'anyone can send the header to a public URL');
  });

  it("takes the load balancer's own (last) X-Forwarded-For entry, not what the client wrote before it", () => {
    const { ip } = requestOf({
      httpMethod: 'GET',
      path: '/api/auth/user',
      headers: { host: 'app.example', 'x-forwarded-for': '10.6.6.6, 198.51.100.4' },
      isBase64Encoded: false,
      requestContext: { elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/g/1' } },
    });
    assert.equal(ip, '198.51.100.4');
  });
});

describe('the Lambda handler at a cold start', { skip }, () => {
  let parts: StackParts;
  let extension: Server;
  let extensionDown = false;
  const asked: string[] = [];
  before(async () => {
    parts = await stackParts();
    // The AWS Parameters and Secrets Lambda Extension's local endpoint, standing in for Secrets Manager.
    extension = createServer((req, res) => {
      asked.push(`${req.url} ${req.headers['x-aws-parameters-secrets-token']}`);
      if (extensionDown) return void res.writeHead(400).end('{"message":"not ready"}');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ SecretString: JSON.stringify({ CLIENT_SECRET: parts.clientSecret }) }));
    });
    await new Promise<void>((resolve) => extension.listen(0, '127.0.0.1', resolve));
  });
  after(async () => {
    extension?.close();
    await Promise.all([parts?.idp.close(), parts?.upstream.close()]);
  });

  it('takes ${NAME}s from a Secrets Manager secret through the extension', async () => {
    const config = lambdaConfig(parts) as { oidc: object };
    const document = JSON.stringify({ ...config, oidc: { ...config.oidc, clientSecret: '${CLIENT_SECRET}' } });
    const env = {
      GATEHOUSE_SECRETS_ID: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:gatehouse',
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String((extension.address() as AddressInfo).port),
      AWS_SESSION_TOKEN: 'session-token',
    };
    const bridge = await startLambdaBridge('function-url', {
      config: document,
      env,
      write: () => {},
      port: parts.port,
    });
    try {
      const browser = new TestBrowser();
      const callback = await signIn(browser, { app: parts.app, idp: parts.idp });
      assert.equal(callback.status, 302, callback.body);
      assert.deepEqual(asked, [
        `/secretsmanager/get?secretId=${encodeURIComponent(env.GATEHOUSE_SECRETS_ID)} session-token`,
      ]);
    } finally {
      await bridge.stop();
    }
  });

  it('answers 500 while the secret cannot be read, says why in the log, and starts once it can', async () => {
    const lines: string[] = [];
    const env = {
      GATEHOUSE_SECRETS_ID: 'gatehouse',
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String((extension.address() as AddressInfo).port),
    };
    const config = lambdaConfig(parts) as { oidc: object };
    const document = JSON.stringify({ ...config, oidc: { ...config.oidc, clientSecret: '${CLIENT_SECRET}' } });
    const bridge = await startLambdaBridge('function-url', { config: document, env, write: (l) => lines.push(l) });
    try {
      extensionDown = true;
      const refused = await fetch(`${bridge.url}/api/auth/user`);
      assert.equal(refused.status, 500);
      assert.deepEqual(await refused.json(), { error: 'server_error', message: 'Something went wrong.' });
      assert.match(lines.join('\n'), /GATEHOUSE_SECRETS_ID: the secrets extension answered 400/);
      extensionDown = false;
      const started = await fetch(`${bridge.url}/api/auth/user`);
      assert.equal(started.status, 401, 'the next invocation starts: signed out, not broken');
    } finally {
      extensionDown = false;
      await bridge.stop();
    }
  });

  it('answers 500 and logs every key the runtime refuses, by name', async () => {
    const lines: string[] = [];
    const document = JSON.stringify({ ...lambdaConfig(parts), server: { port: 8080 }, admin: { enabled: true } });
    const bridge = await startLambdaBridge('function-url', { config: document, env: {}, write: (l) => lines.push(l) });
    try {
      const response = await fetch(`${bridge.url}/api/auth/user`);
      assert.equal(response.status, 500);
      assert.equal((await response.json()).error, 'server_error');
      const { problems } = JSON.parse(lines[0]!) as { problems: string[] };
      assert.deepEqual(problems, [
        'server.port: not on AWS Lambda: the platform owns the listener',
        "admin: not on AWS Lambda: there is no admin listener; use the platform's health checks, logs and metrics",
      ]);
    } finally {
      await bridge.stop();
    }
  });
});
