/**
 * Property-based fuzzing (fast-check) of everything that parses attacker-controlled input: request
 * paths, session cookies (opaque ids and sealed chunks), and sealed values. Nothing may throw past
 * its boundary, and over HTTP nothing may answer 500 or let a forged value through.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { GatehouseError } from '../src/errors.js';
import { checkedRestPath } from '../src/proxy/path.js';
import { Aead } from '../src/session/aead.js';
import { sendRaw } from './support/raw-socket.js';
import { signIn, startStack, type Stack } from './support/stack.js';
import { TestBrowser } from './support/browser.js';

/** Characters that matter to path and cookie parsers, over-represented on purpose. */
const tricky = fc.constantFrom(
  '/',
  '.',
  '%',
  '2',
  'e',
  'f',
  '5',
  'c',
  '\\',
  ';',
  '@',
  ':',
  '?',
  '#',
  'a',
  'Z',
  '0',
  ' ',
  '\u0000',
  '\u00ff',
  '=',
  '"',
  ',',
);
/** Percent-decoding to bytes, as a lenient upstream might do (never throws, unlike decodeURIComponent). */
const decodeBytes = (path: string) =>
  path.replace(/%([0-9a-f]{2})/gi, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
const trickyString = (max: number) => fc.array(tricky, { maxLength: max }).map((chars) => chars.join(''));

describe('fuzz: path normalisation', () => {
  it('only ever accepts paths without traversal, and refuses the rest with invalid_path', () => {
    fc.assert(
      fc.property(trickyString(40), (tail) => {
        const rest = `/${tail}`;
        let checked: string;
        try {
          checked = checkedRestPath(rest);
        } catch (error) {
          assert.ok(error instanceof GatehouseError && error.code === 'invalid_path');
          return;
        }
        const decoded = decodeBytes(checked);
        for (const segment of decoded.split('/')) assert.ok(segment !== '..' && segment !== '.', checked);
        assert.ok(!decoded.includes('\\') && !checked.includes('//'), checked);
      }),
      { numRuns: 5000 },
    );
  });
});

describe('fuzz: sealed values', () => {
  const aead = new Aead(['k'.repeat(32)], 'fuzz');
  it('never throws on arbitrary text or bytes, and never opens a forgery', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (text, bytes) => {
        assert.equal(aead.openJson(text, 'aad'), undefined);
        assert.equal(aead.open(Buffer.from(bytes), 'aad'), undefined);
      }),
      { numRuns: 3000 },
    );
  });
  it('never opens a sealed value with one byte changed', () => {
    const sealed = aead.seal(Buffer.from('{"a":1}'), 'aad');
    fc.assert(
      fc.property(fc.nat(sealed.length - 1), fc.integer({ min: 1, max: 255 }), (at, xor) => {
        const copy = Buffer.from(sealed);
        copy[at]! ^= xor;
        assert.equal(aead.open(copy, 'aad'), undefined);
      }),
      { numRuns: 2000 },
    );
  });
});

for (const store of ['memory', 'cookie'] as const) {
  describe(`fuzz over HTTP (${store} sessions)`, () => {
    let stack: Stack;
    let cookie: string;
    before(async () => {
      stack = await startStack({
        gatehouse: (d) => ({ ...d, rateLimit: { enabled: false }, session: { ...d.session!, store } }),
      });
      const browser = new TestBrowser();
      await signIn(browser, stack);
      const jar = await browser.jar.getCookies(stack.app);
      cookie = jar
        .filter((c) => c.key.startsWith('__Host-gatehouse'))
        .map((c) => `${c.key}=${c.value}`)
        .join('; ');
    });
    after(() => stack.close());

    const cookieValue = fc.oneof(
      trickyString(60),
      fc.string({ maxLength: 60 }).filter((s) => !/[\r\n;]/.test(s)),
      fc.base64String({ maxLength: 200 }).map((s) => s.replace(/=+$/, '')),
    );

    it('answers arbitrary session cookies with 401 (or 400), never 500 and never a session', async () => {
      await fc.assert(
        fc.asyncProperty(cookieValue, fc.option(cookieValue, { nil: undefined }), async (first, chunk) => {
          const header = `__Host-gatehouse=${first}${chunk === undefined ? '' : `; __Host-gatehouse.1=${chunk}`}`;
          const request = `GET /api/orders HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-csrf: 1\r\ncookie: ${header}\r\n\r\n`;
          const { status } = await sendRaw(stack.app, Buffer.from(request, 'latin1'));
          assert.ok(status === 401 || status === 400, `status ${status} for ${JSON.stringify(header)}`);
        }),
        { numRuns: 300 },
      );
      assert.equal(stack.upstream.received.length, 0);
    });

    it('answers arbitrary paths under a route with 2xx/4xx, never 500, and never leaves the route', async () => {
      await fc.assert(
        fc.asyncProperty(trickyString(30), async (tail) => {
          const path = `/api/orders/${tail.replace(/[ \u0000#?]/g, '')}`;
          const before = stack.upstream.received.length;
          const request = `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nx-csrf: 1\r\ncookie: ${cookie}\r\n\r\n`;
          const { status } = await sendRaw(stack.app, Buffer.from(request, 'latin1'));
          assert.ok(status !== 'closed' && status !== 500 && status < 500, `status ${status} for ${path}`);
          for (const forwarded of stack.upstream.received.slice(before)) {
            assert.ok(forwarded.url.startsWith('/orders/'), forwarded.url);
            for (const segment of decodeBytes(forwarded.url.split('?')[0]!).split('/')) {
              assert.ok(segment !== '..' && segment !== '.', forwarded.url);
            }
          }
        }),
        { numRuns: 300 },
      );
      assert.equal((await fetch(`${stack.admin}/healthz`)).status, 200);
    });
  });
}
