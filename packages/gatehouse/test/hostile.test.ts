/**
 * The hostile-input suite: one table of attacks, each sent byte for byte on a bare socket by an
 * attacker who holds (or steals the use of) a valid session. For every row: the expected refusal,
 * nothing reached the upstream or the attacker's collector, and the process stays healthy.
 * The rows map to ../../../docs/security.md (sections A, B, C, E, F, G of the requirements).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestBrowser } from './support/browser.js';
import { sendRaw } from './support/raw-socket.js';
import { signIn, startStack, type Stack } from './support/stack.js';
import { startUpstream, type TestUpstream } from './support/upstream.js';

interface Attack {
  name: string;
  /** The request, as a function of the victim's cookie header and the app's host. */
  bytes: (ctx: { cookie: string; host: string }) => string;
  /** Acceptable outcomes: a status, or 'closed' when the server drops the connection. */
  expect: (number | 'closed')[];
}

/** An HTTP/1.1 request as raw text; `Host` and `Connection: close` unless given. */
function http(
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body = '',
): (ctx: { host: string }) => string {
  return ({ host }) => {
    const all: Record<string, string> = { host, connection: 'close', ...headers };
    if (body && all['content-length'] === undefined && all['transfer-encoding'] === undefined) {
      all['content-length'] = String(Buffer.byteLength(body));
    }
    const lines = Object.entries(all).map(([k, v]) => `${k}: ${v}`);
    return `${method} ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n${body}`;
  };
}
/** A request carrying the victim's session cookie (and, unless told otherwise, the anti-forgery header). */
function withSession(method: string, path: string, headers: Record<string, string> = {}, body = '', csrf = true) {
  return (ctx: { cookie: string; host: string }) =>
    http(method, path, { cookie: ctx.cookie, ...(csrf ? { 'x-csrf': '1' } : {}), ...headers }, body)(ctx);
}
const raw = (text: string) => () => text;

const EVIL = 'https://evil.test';
const SIBLING = 'https://evil.app.test';

const ATTACKS: Attack[] = [
  // B. CSRF and origins (a valid session is attached every time)
  {
    name: 'API call without the anti-forgery header',
    bytes: withSession('GET', '/api/orders', {}, '', false),
    expect: [403],
  },
  {
    name: 'anti-forgery header "0"',
    bytes: withSession('GET', '/api/orders', { 'x-csrf': '0' }, '', false),
    expect: [403],
  },
  {
    name: 'anti-forgery header "true"',
    bytes: withSession('GET', '/api/orders', { 'x-csrf': 'true' }, '', false),
    expect: [403],
  },
  {
    name: 'anti-forgery header empty',
    bytes: withSession('GET', '/api/orders', { 'x-csrf': '' }, '', false),
    expect: [403],
  },
  {
    name: 'cross-site form POST (urlencoded, no header)',
    bytes: withSession(
      'POST',
      '/api/orders',
      { 'content-type': 'application/x-www-form-urlencoded', origin: EVIL, 'sec-fetch-site': 'cross-site' },
      'amount=1000',
      false,
    ),
    expect: [403],
  },
  {
    name: 'cross-site form POST (text/plain JSON, no header)',
    bytes: withSession('POST', '/api/orders', { 'content-type': 'text/plain', origin: EVIL }, '{"amount":1000}', false),
    expect: [403],
  },
  {
    name: 'cross-site multipart POST',
    bytes: withSession(
      'POST',
      '/api/orders',
      { 'content-type': 'multipart/form-data; boundary=x', origin: EVIL },
      '--x--',
      false,
    ),
    expect: [403],
  },
  {
    name: 'header present but Origin foreign',
    bytes: withSession('GET', '/api/orders', { origin: EVIL }),
    expect: [403],
  },
  {
    name: 'header present but Origin null',
    bytes: withSession('GET', '/api/orders', { origin: 'null' }),
    expect: [403],
  },
  {
    name: 'header present, Origin a same-site sibling',
    bytes: withSession('GET', '/api/orders', { origin: SIBLING }),
    expect: [403],
  },
  {
    name: 'header present, Sec-Fetch-Site cross-site',
    bytes: withSession('GET', '/api/orders', { 'sec-fetch-site': 'cross-site' }),
    expect: [403],
  },
  {
    name: 'header present, Sec-Fetch-Site same-site',
    bytes: withSession('GET', '/api/orders', { 'sec-fetch-site': 'same-site' }),
    expect: [403],
  },
  {
    name: 'JSON body sent as text/plain',
    bytes: withSession('POST', '/api/orders', { 'content-type': 'text/plain' }, '{"a":1}'),
    expect: [415],
  },
  {
    name: 'JSON body sent as text/plain;charset',
    bytes: withSession('POST', '/api/orders', { 'content-type': 'Text/Plain; charset=utf-8' }, '{"a":1}'),
    expect: [415],
  },
  {
    name: 'form body with the header',
    bytes: withSession('PUT', '/api/orders/1', { 'content-type': 'application/x-www-form-urlencoded' }, 'a=1'),
    expect: [415],
  },
  {
    name: 'multipart body with the header',
    bytes: withSession('PATCH', '/api/orders/1', { 'content-type': 'multipart/form-data; boundary=x' }, '--x--'),
    expect: [415],
  },
  { name: 'logout without the header', bytes: withSession('POST', '/api/auth/logout', {}, '', false), expect: [403] },
  {
    name: 'logout from a foreign origin',
    bytes: withSession('POST', '/api/auth/logout', { origin: EVIL }),
    expect: [403],
  },
  {
    name: 'logout from a sibling subdomain',
    bytes: withSession('POST', '/api/auth/logout', { origin: SIBLING, 'sec-fetch-site': 'same-site' }),
    expect: [403],
  },
  {
    name: 'GET logout link with a forged sid',
    bytes: withSession('GET', '/api/auth/logout?sid=forged', {}, '', false),
    expect: [400],
  },
  { name: 'GET logout link without sid', bytes: withSession('GET', '/api/auth/logout', {}, '', false), expect: [400] },
  {
    name: 'user endpoint read from a foreign origin',
    bytes: withSession('GET', '/api/auth/user', { origin: EVIL }),
    expect: [403],
  },
  {
    name: 'CORS preflight from a foreign origin',
    bytes: http('OPTIONS', '/api/orders', {
      origin: EVIL,
      'access-control-request-method': 'GET',
      'access-control-request-headers': 'x-csrf',
    }),
    expect: [403],
  },
  {
    name: 'CORS preflight from origin null',
    bytes: http('OPTIONS', '/api/orders', { origin: 'null', 'access-control-request-method': 'POST' }),
    expect: [403],
  },
  {
    name: 'CORS preflight from a sibling',
    bytes: http('OPTIONS', '/api/auth/user', { origin: SIBLING, 'access-control-request-method': 'GET' }),
    expect: [403],
  },
  {
    name: 'CORS preflight with a wildcard origin',
    bytes: http('OPTIONS', '/api/orders', { origin: '*', 'access-control-request-method': 'GET' }),
    expect: [403],
  },
  {
    name: 'sign-in started by an <img>',
    bytes: http('GET', '/api/auth/login', { 'sec-fetch-dest': 'image', 'sec-fetch-mode': 'no-cors' }),
    expect: [403],
  },
  {
    name: 'sign-in started in an <iframe>',
    bytes: http('GET', '/api/auth/login', { 'sec-fetch-dest': 'iframe', 'sec-fetch-mode': 'navigate' }),
    expect: [403],
  },
  {
    name: 'sign-in started by fetch()',
    bytes: http('GET', '/api/auth/login', { 'sec-fetch-dest': 'empty', 'sec-fetch-mode': 'cors' }),
    expect: [403],
  },

  // A/G. Session cookies as untrusted input (no valid session: 401, never 500)
  ...[
    ['forged id', 'A'.repeat(43)],
    ['truncated id', 'A'.repeat(20)],
    ['10 KB value', 'x'.repeat(10 * 1024)],
    ['SQL', "' OR 1=1 --"],
    ['NoSQL', '{"$ne":null}'],
    ['percent NUL', '%00%00%00'],
    ['JWT alg none', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.'],
    ['empty', ''],
    ['path traversal', '../../etc/passwd'],
    ['high bytes', '\u00ff\u00fe\u00fd'],
  ].map(([name, value]): Attack => ({
    name: `session cookie: ${name}`,
    bytes: http('GET', '/api/orders', { cookie: `__Host-gatehouse=${value}`, 'x-csrf': '1' }),
    expect: [401],
  })),
  {
    name: 'two session cookies, the first forged',
    bytes: http('GET', '/api/orders', {
      cookie: `__Host-gatehouse=${'B'.repeat(43)}; __Host-gatehouse=${'C'.repeat(43)}`,
      'x-csrf': '1',
    }),
    expect: [401],
  },
  { name: 'no cookie at all', bytes: http('GET', '/api/orders', { 'x-csrf': '1' }), expect: [401] },
  {
    name: 'cookie without the __Host- prefix',
    bytes: http('GET', '/api/orders', { cookie: `gatehouse=${'A'.repeat(43)}`, 'x-csrf': '1' }),
    expect: [401],
  },

  // F. Path tricks on a proxied route (valid session and header)
  ...[
    '/api/orders/..',
    '/api/orders/../admin',
    '/api/orders/..%2fadmin',
    '/api/orders/%2e%2e/admin',
    '/api/orders/%2E%2E%2Fadmin',
    '/api/orders/.%2e/admin',
    '/api/orders/%2e',
    '/api/orders/a/./b',
    '/api/orders//evil.test',
    '/api/orders/http://evil.test/x',
    '/api/orders/a%5cb',
    '/api/orders/%5c..%5cadmin',
    '/api/orders/%252e%252e/admin',
    '/api/orders/%25252e',
    '/api/orders/a%00b',
    '/api/orders/..;/admin',
    '/api/orders/%u002e%u002e/admin',
    '/api/orders/a%zz',
  ].map((path): Attack => ({ name: `path ${path}`, bytes: withSession('GET', path), expect: [400, 404] })),
  {
    name: 'absolute-form request target to another host',
    bytes: withSession('GET', 'http://evil.test/api/orders'),
    expect: [400, 404],
  },
  {
    name: 'absolute-form target, evil host via @',
    bytes: withSession('GET', 'http://127.0.0.1@evil.test/api/orders'),
    expect: [400, 404],
  },
  { name: 'route prefix without separator', bytes: withSession('GET', '/api/ordersadmin'), expect: [404] },
  { name: 'unknown API path', bytes: withSession('GET', '/api/internal/secrets'), expect: [404] },

  // F. Methods
  { name: 'TRACE', bytes: withSession('TRACE', '/api/orders'), expect: [405] },
  { name: 'TRACE on the user endpoint', bytes: withSession('TRACE', '/api/auth/user'), expect: [404, 405] },
  {
    name: 'CONNECT tunnel',
    bytes: raw('CONNECT evil.test:443 HTTP/1.1\r\nHost: evil.test:443\r\n\r\n'),
    expect: [400, 404, 405, 'closed'],
  },
  { name: 'OPTIONS (not a preflight) on a route', bytes: withSession('OPTIONS', '/api/orders'), expect: [405] },
  {
    name: 'POST on a GET-only route',
    bytes: withSession('POST', '/api/reports/x', { 'content-type': 'application/json' }, '{}'),
    expect: [405],
  },
  { name: 'DELETE on a GET-only route', bytes: withSession('DELETE', '/api/reports/x'), expect: [405] },
  { name: 'PROPFIND (WebDAV)', bytes: withSession('PROPFIND', '/api/orders'), expect: [400, 404, 405] },
  { name: 'made-up method', bytes: withSession('FOO', '/api/orders'), expect: [400, 404, 405, 'closed'] },

  // F. Request smuggling and header injection
  {
    name: 'Content-Length and Transfer-Encoding together',
    bytes: withSession(
      'POST',
      '/api/orders',
      { 'content-type': 'application/json', 'content-length': '4', 'transfer-encoding': 'chunked' },
      '0\r\n\r\nGET /api/orders HTTP/1.1\r\n\r\n',
    ),
    expect: [400, 'closed'],
  },
  {
    name: 'two different Content-Lengths',
    bytes: (c) =>
      withSession('POST', '/api/orders', { 'content-type': 'application/json' })(c).replace(
        '\r\n\r\n',
        '\r\ncontent-length: 2\r\ncontent-length: 20\r\n\r\n{}',
      ),
    expect: [400, 'closed'],
  },
  {
    name: 'Transfer-Encoding: chunked, identity',
    bytes: withSession(
      'POST',
      '/api/orders',
      { 'content-type': 'application/json', 'transfer-encoding': 'chunked, identity' },
      '2\r\n{}\r\n0\r\n\r\n',
    ),
    expect: [400, 501, 'closed'],
  },
  {
    name: 'obfuscated Transfer-Encoding',
    bytes: withSession(
      'POST',
      '/api/orders',
      { 'content-type': 'application/json', 'transfer-encoding': 'xchunked' },
      '2\r\n{}\r\n0\r\n\r\n',
    ),
    expect: [400, 501, 'closed'],
  },
  {
    name: 'bad chunk size',
    bytes: withSession(
      'POST',
      '/api/orders',
      { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      'zz\r\n{}\r\n0\r\n\r\n',
    ),
    expect: [400, 'closed'],
  },
  {
    name: 'bare CR inside a header value',
    bytes: (c) => withSession('GET', '/api/orders')(c).replace('x-csrf: 1', 'x-csrf: 1\rx-admin: yes'),
    expect: [400, 'closed'],
  },
  {
    name: 'bare LF header injection',
    bytes: (c) => withSession('GET', '/api/orders')(c).replace('x-csrf: 1', 'x-csrf: 1\nx-admin: yes'),
    expect: [400, 'closed'],
  },
  {
    name: 'space before the colon',
    bytes: (c) => withSession('GET', '/api/orders')(c).replace('x-csrf: 1', 'x-csrf : 1'),
    expect: [400, 'closed'],
  },
  {
    name: 'obsolete line folding',
    bytes: (c) => withSession('GET', '/api/orders')(c).replace('x-csrf: 1', 'x-csrf: 1\r\n x-admin: yes'),
    expect: [400, 'closed'],
  },
  {
    name: 'NUL in a header value',
    bytes: (c) => withSession('GET', '/api/orders')(c).replace('x-csrf: 1', 'x-csrf: 1\u0000'),
    expect: [400, 'closed'],
  },
  {
    name: 'invalid header name',
    bytes: (c) => withSession('GET', '/api/orders')(c).replace('x-csrf: 1', 'x(csrf): 1'),
    expect: [400, 'closed'],
  },
  {
    name: 'space inside the request target',
    bytes: raw('GET /api/orders /../admin HTTP/1.1\r\nHost: x\r\n\r\n'),
    expect: [400, 'closed'],
  },
  { name: 'HTTP/0.9-style request line', bytes: raw('GET /api/orders\r\n\r\n'), expect: [400, 401, 'closed'] },
  { name: 'no Host header', bytes: raw('GET /api/orders HTTP/1.1\r\nx-csrf: 1\r\n\r\n'), expect: [400, 401, 'closed'] },

  // F. Sizes
  {
    name: '20 KB header block',
    bytes: withSession('GET', '/api/orders', { 'x-padding': 'p'.repeat(20 * 1024) }),
    expect: [431, 'closed'],
  },
  {
    name: 'a thousand headers',
    bytes: withSession(
      'GET',
      '/api/orders',
      Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`x-h${i}`, 'v'.repeat(20)])),
    ),
    expect: [431, 400, 'closed'],
  },
  {
    name: 'declared body over the route limit',
    bytes: withSession('POST', '/api/small', { 'content-type': 'application/json', 'content-length': '5000' }, '{}'),
    expect: [413],
  },
  {
    name: 'chunked body over the route limit',
    bytes: withSession(
      'POST',
      '/api/small',
      { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      `${(5000).toString(16)}\r\n${'a'.repeat(5000)}\r\n0\r\n\r\n`,
    ),
    expect: [413],
  },

  // G. Open redirects (the sign-in never starts)
  ...[
    'https://evil.test',
    '//evil.test',
    '/\\evil.test',
    '\\\\evil.test',
    'https:evil.test',
    'javascript:alert(1)',
    'data:text/html,x',
    '/\tevil',
    'evil.test',
    '///evil.test',
  ].map((returnTo): Attack => ({
    name: `returnTo ${JSON.stringify(returnTo)}`,
    bytes: http('GET', `/api/auth/login?returnTo=${encodeURIComponent(returnTo)}`, { accept: 'application/json' }),
    expect: [400],
  })),
  {
    name: 'returnTo given twice',
    bytes: http('GET', '/api/auth/login?returnTo=/a&returnTo=//evil.test'),
    expect: [400],
  },

  // C. The callback
  {
    name: 'callback without state',
    bytes: http('GET', '/api/auth/callback?code=abc', { accept: 'application/json' }),
    expect: [400],
  },
  {
    name: 'callback with an unknown state',
    bytes: http('GET', `/api/auth/callback?code=abc&state=${'s'.repeat(43)}`, { accept: 'application/json' }),
    expect: [400],
  },
  {
    name: 'callback with duplicated code',
    bytes: http('GET', '/api/auth/callback?code=a&code=b&state=s', { accept: 'application/json' }),
    expect: [400],
  },
  {
    name: 'callback with an IdP error and script',
    bytes: http('GET', '/api/auth/callback?error=access_denied&error_description=%3Cscript%3E&state=s'),
    expect: [400],
  },

  // E. Back-channel logout receiver
  { name: 'back-channel logout by GET', bytes: http('GET', '/api/auth/backchannel-logout'), expect: [405] },
  {
    name: 'back-channel logout with garbage',
    bytes: http(
      'POST',
      '/api/auth/backchannel-logout',
      { 'content-type': 'application/x-www-form-urlencoded' },
      'logout_token=garbage',
    ),
    expect: [400],
  },
  {
    name: 'back-channel logout as JSON',
    bytes: http('POST', '/api/auth/backchannel-logout', { 'content-type': 'application/json' }, '{"logout_token":"x"}'),
    expect: [400, 415],
  },
  {
    name: 'back-channel logout with an oversized body',
    bytes: http(
      'POST',
      '/api/auth/backchannel-logout',
      { 'content-type': 'application/x-www-form-urlencoded' },
      `logout_token=${'a'.repeat(70_000)}`,
    ),
    expect: [400, 413],
  },
];

describe('hostile-input suite', () => {
  let stack: Stack;
  let collector: TestUpstream;
  let cookie: string;
  let host: string;

  before(async () => {
    collector = await startUpstream(); // the attacker's server: nothing may ever reach it
    stack = await startStack({
      gatehouse: (d) => {
        const origin = new URL(d.routes![0]!.upstream).origin;
        return {
          ...d,
          rateLimit: { enabled: false }, // this suite is a flood on purpose; rate limits have their own test
          routes: [
            ...d.routes!,
            { path: '/reports', upstream: `${origin}/reports`, methods: ['GET'] },
            { path: '/small', upstream: `${origin}/small`, maxBodySize: 1024 },
          ],
        };
      },
    });
    const browser = new TestBrowser();
    await signIn(browser, stack);
    cookie = `__Host-gatehouse=${await browser.cookie(stack.app, '__Host-gatehouse')}`;
    host = new URL(stack.app).host;
  });
  after(async () => {
    await stack.close();
    await collector.close();
  });

  it(`has at least 80 attacks (${ATTACKS.length})`, () => {
    assert.ok(ATTACKS.length >= 80);
  });

  for (const attack of ATTACKS) {
    it(attack.name, async () => {
      const before = stack.upstream.received.length;
      const answer = await sendRaw(stack.app, attack.bytes({ cookie, host }));
      assert.ok(
        attack.expect.includes(answer.status),
        `got ${answer.status}, expected ${attack.expect.join(' or ')}\n${answer.text.slice(0, 300)}`,
      );
      assert.equal(stack.upstream.received.length, before, 'nothing reached the upstream');
      assert.equal(collector.received.length, 0, "nothing reached the attacker's collector");
      if (typeof answer.status === 'number') {
        assert.notEqual(answer.status, 500);
        assert.doesNotMatch(
          answer.text,
          /at [\w.]+ \(|ey[A-Za-z0-9_-]{20,}\.|127\.0\.0\.1:\d{4,5}\/orders/,
          'no stack trace, token or upstream address',
        );
      }
    });
  }

  it('is still healthy and serves the victim normally afterwards', async () => {
    assert.equal((await fetch(`${stack.admin}/healthz`)).status, 200);
    const ok = await sendRaw(stack.app, withSession('GET', '/api/orders/1')({ cookie, host }));
    assert.equal(ok.status, 200);
  });
});
