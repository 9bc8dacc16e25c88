/** Pure logic, without servers: return-to validation, path checks, session ids, the memory store, sealing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { GatehouseError } from '../src/errors.js';
import { assertSameUser } from '../src/oidc/id-token-checks.js';
import { safeReturnTo } from '../src/oidc/return-to.js';
import { checkedRestPath } from '../src/proxy/path.js';
import { lazyChildLogger } from '../src/ops/logger.js';
import { MemoryStore } from '../src/session/memory-store.js';
import { Aead } from '../src/session/aead.js';
import { isSessionId, newSessionId, type SessionData } from '../src/session/session.js';

const ORIGIN = 'https://app.example.com';

describe('safeReturnTo', () => {
  it('keeps paths on this site, normalised', () => {
    assert.equal(safeReturnTo(undefined, ORIGIN), '/');
    assert.equal(safeReturnTo('', ORIGIN), '/');
    assert.equal(safeReturnTo('/orders/42?tab=1#x', ORIGIN), '/orders/42?tab=1#x');
    assert.equal(safeReturnTo('/a/../b', ORIGIN), '/b');
    assert.equal(safeReturnTo('/%2F%2Fevil.test', ORIGIN), '/%2F%2Fevil.test');
  });

  it('refuses anything a browser could read as another origin', () => {
    for (const value of [
      'https://evil.test',
      '//evil.test',
      '/\\evil.test',
      '\\/evil.test',
      'https:evil.test',
      'javascript:alert(1)',
      'data:text/html,x',
      '/\r\nx',
      '/\u0000',
      '/\tx',
      'evil.test',
      '///evil.test',
      '/'.padEnd(3000, 'a'),
    ]) {
      assert.throws(
        () => safeReturnTo(value, ORIGIN),
        (e: unknown) => e instanceof GatehouseError && e.code === 'invalid_return_to',
        JSON.stringify(value),
      );
    }
  });
});

describe('checkedRestPath', () => {
  it('accepts ordinary paths', () => {
    for (const path of ['', '/', '/42', '/42/items', '/a-b_c.d~e', '/42/', '/%20space', '/caf%C3%A9'])
      assert.equal(checkedRestPath(path), path);
  });
  it('refuses dot segments, encoded separators, double encoding and control bytes', () => {
    for (const path of [
      '/..',
      '/../x',
      '/a/..',
      '/.',
      '/a/./b',
      '//x',
      '/a//b',
      '/%2e%2e',
      '/%2E',
      '/a%2fb',
      '/a%5Cb',
      '/a\\b',
      '/%252e',
      '/a%00',
      '/a b',
      '/a\u007f',
      '/..;/admin',
      '/a/.;x/b',
      '/%u002e%u002e',
      '/a%',
      '/a%2',
      `/${'a'.repeat(5000)}`,
    ]) {
      assert.throws(() => checkedRestPath(path), GatehouseError, path);
    }
  });
});

describe('session ids', () => {
  it('are 256-bit, unique, base64url, and meaningless', () => {
    const ids = new Set(Array.from({ length: 2000 }, newSessionId));
    assert.equal(ids.size, 2000);
    for (const id of ids) {
      assert.ok(isSessionId(id));
      assert.equal(Buffer.from(id, 'base64url').length, 32);
    }
    assert.equal(isSessionId('A'.repeat(42)), false);
    assert.equal(isSessionId(`${'A'.repeat(42)}=`), false);
    assert.equal(isSessionId(undefined), false);
  });
});

const session = (sub: string): SessionData => ({
  v: 1,
  iss: 'https://idp',
  sub,
  tokens: { accessToken: 'at', tokenType: 'Bearer', obtainedAt: Date.now() },
  createdAt: Date.now(),
  touchedAt: Date.now(),
  expiresAt: Date.now() + 60_000,
  logoutKey: 'k',
});

describe('MemoryStore', () => {
  it('expires entries and evicts the least recently written past its bound', async () => {
    const store = new MemoryStore({ maxSessions: 2 });
    await store.set('a', session('a'), 60_000);
    await store.set('b', session('b'), 60_000);
    await store.set('a', session('a'), 60_000); // a is now the most recently written
    await store.set('c', session('c'), 60_000);
    assert.equal(await store.get('b'), undefined, 'b was evicted');
    assert.equal((await store.get('a'))?.sub, 'a');
    await store.set('short', session('s'), 1);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(await store.get('short'), undefined);
    await store.close();
  });

  it('records one-time values once', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    assert.equal(await store.markUsed('state:x', 60_000), true);
    assert.equal(await store.markUsed('state:x', 60_000), false);
    await store.close();
  });
});

describe('Aead', () => {
  const one = 'a'.repeat(32);
  const two = 'b'.repeat(32);

  it('opens what it sealed, and what an older key sealed after rotation', () => {
    const sealed = new Aead([one], 'test').sealJson({ x: 1 }, 'place', 60_000);
    assert.deepEqual(new Aead([two, one], 'test').openJson(sealed, 'place'), { x: 1 });
    assert.equal(new Aead([two], 'test').openJson(sealed, 'place'), undefined, 'a removed key opens nothing');
    assert.equal(new Aead([one], 'other-purpose').openJson(sealed, 'place'), undefined, 'keys are bound to a purpose');
    assert.equal(new Aead([one], 'test').openJson(sealed, 'elsewhere'), undefined, 'values are bound to their place');
  });

  it('refuses tampered, truncated, expired and oversized input without throwing', () => {
    const aead = new Aead([one], 'test');
    const sealed = aead.seal(Buffer.from('secret'), 'k');
    for (let i = 0; i < sealed.length; i++) {
      const flipped = Buffer.from(sealed);
      flipped[i]! ^= 1;
      assert.equal(aead.open(flipped, 'k'), undefined, `byte ${i} flipped`);
    }
    for (const bad of [sealed.subarray(0, 20), Buffer.alloc(0), Buffer.alloc(100)])
      assert.equal(aead.open(bad, 'k'), undefined);
    assert.equal(aead.openJson(aead.sealJson({ x: 1 }, 'k', -1), 'k'), undefined, 'expired');
    for (const bad of ['', 'x'.repeat(40_000), '!!!', 'eyJhbGciOiJub25lIn0.e30.'])
      assert.equal(aead.openJson(bad, 'k'), undefined);
    assert.notEqual(
      aead.seal(Buffer.from('same'), 'k').toString('hex'),
      aead.seal(Buffer.from('same'), 'k').toString('hex'),
      'fresh IV each time',
    );
  });
});

describe('assertSameUser (refreshed ID tokens, OIDC Core §12.2)', () => {
  const original = { iss: 'https://idp', sub: 'alice', aud: 'bff', azp: 'bff', auth_time: 1000, iat: 1, exp: 2 };

  it('accepts a new ID token about the same sign-in, with aud as string or array', () => {
    assertSameUser(original, { ...original, iat: 50, exp: 60 });
    assertSameUser(original, { ...original, aud: ['bff'] });
    assertSameUser(original, { iss: 'https://idp', sub: 'alice', aud: 'bff' }); // azp and auth_time may be left out
  });

  it('refuses a different issuer, subject, audience, azp or auth_time', () => {
    for (const changed of [
      { iss: 'https://evil.test' },
      { sub: 'mallory' },
      { aud: 'other' },
      { aud: ['bff', 'other'] },
      { azp: 'other' },
      { auth_time: 2000 },
    ]) {
      assert.throws(
        () => assertSameUser(original, { ...original, ...changed }),
        (e: unknown) => e instanceof GatehouseError && e.code === 'session_expired',
        JSON.stringify(changed),
      );
    }
  });
});

describe('lazyChildLogger (the per-request logger)', () => {
  const setup = (level: string) => {
    const lines: Record<string, unknown>[] = [];
    const parent = pino({ level }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const log = lazyChildLogger.call(undefined as never, parent, { reqId: 'r-1' }, {}, undefined as never);
    return { parent, log, lines };
  };

  it('writes lines with the request bindings, only at enabled levels', () => {
    const { log, lines } = setup('warn');
    log.info({ a: 1 }, 'below the level');
    log.debug('below the level');
    log.warn({ a: 2 }, 'written');
    log.error(new Error('boom'), 'also written');
    assert.deepEqual(
      lines.map((l) => [l.msg, l.reqId, l.a]),
      [
        ['written', 'r-1', 2],
        ['also written', 'r-1', undefined],
      ],
    );
    assert.equal((lines[1]!.err as { message: string }).message, 'boom');
  });

  it('follows the parent level until it has its own, and makes real children', () => {
    const { parent, log, lines } = setup('warn');
    assert.equal(log.level, 'warn');
    parent.level = 'info';
    log.info('now enabled');
    log.level = 'error';
    assert.equal(log.level, 'error');
    log.warn('below its own level');
    log.child({ part: 'orders' }).error('from a child');
    assert.deepEqual(
      lines.map((l) => [l.msg, l.reqId, l.part]),
      [
        ['now enabled', 'r-1', undefined],
        ['from a child', 'r-1', 'orders'],
      ],
    );
  });
});
