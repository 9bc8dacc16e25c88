/**
 * OIDC Back-Channel Logout 1.0: a logout token from the real provider ends every matching session;
 * each malformed variant is refused with 400 and ends nothing.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { SignJWT, base64url, importJWK, type JWTPayload } from 'jose';
import { TestBrowser } from './support/browser.js';
import { CLIENT_ID, signIn, startStack, type Stack } from './support/stack.js';

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';

describe('back-channel logout', () => {
  let stack: Stack;
  before(async () => {
    stack = await startStack();
  });
  after(() => stack.close());

  const endpoint = () => `${stack.app}/api/auth/backchannel-logout`;
  const post = (body: string, contentType = 'application/x-www-form-urlencoded') =>
    fetch(endpoint(), { method: 'POST', headers: { 'content-type': contentType }, body });
  const postToken = (token: string) => post(new URLSearchParams({ logout_token: token }).toString());

  async function signedInUser() {
    const browser = new TestBrowser();
    await signIn(browser, stack);
    const user = JSON.parse((await browser.api(`${stack.app}/api/auth/user`)).body) as { sub: string; sid: string };
    assert.ok(user.sid, 'the provider issued a sid');
    return { browser, user, alive: async () => (await browser.api(`${stack.app}/api/auth/user`)).status === 200 };
  }

  /** A logout token signed with the provider's real key, with the claims and header a test wants. */
  async function craft(claims: JWTPayload, header: Record<string, unknown> = {}) {
    const key = await importJWK(stack.idp.signingKey, 'RS256');
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', typ: 'logout+jwt', kid: stack.idp.signingKey.kid, ...header })
      .sign(key);
  }
  const validClaims = (sub: string, sid: string): JWTPayload => ({
    iss: stack.idp.issuer,
    aud: CLIENT_ID,
    iat: Math.floor(Date.now() / 1000),
    exp: Math.floor(Date.now() / 1000) + 120,
    jti: randomUUID(),
    sub,
    sid,
    events: { [EVENT]: {} },
  });

  it('ends the session when the provider sends a valid logout token, for every browser of that provider session', async () => {
    const first = await signedInUser();
    // A second browser signed in through the same provider session shares the sid.
    const second = new TestBrowser();
    for (const cookie of await first.browser.jar.getCookies(stack.idp.issuer)) {
      if (cookie.key.startsWith('_session')) await second.jar.setCookie(cookie, stack.idp.issuer);
    }
    await signIn(second, stack);
    const secondUser = JSON.parse((await second.api(`${stack.app}/api/auth/user`)).body) as { sid: string };
    assert.equal(secondUser.sid, first.user.sid);

    await stack.idp.backchannelLogout(CLIENT_ID, first.user.sub, first.user.sid); // throws unless we answered 200
    assert.equal(await first.alive(), false);
    assert.equal((await second.api(`${stack.app}/api/auth/user`)).status, 401);
  });

  it('answers with Cache-Control: no-store and needs no cookie or anti-forgery header', async () => {
    const { user, alive } = await signedInUser();
    const response = await postToken(await craft(validClaims(user.sub, user.sid)));
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    assert.equal(await alive(), false);
  });

  it('ends every session of the user when the token names only sub', async () => {
    const a = await signedInUser();
    const b = await signedInUser();
    const claims = validClaims(a.user.sub, '');
    delete claims.sid;
    assert.equal((await postToken(await craft(claims))).status, 200);
    assert.equal(await a.alive(), false);
    assert.equal(await b.alive(), false);
  });

  it('refuses every malformed logout token with 400 and ends nothing', async () => {
    const { user, alive } = await signedInUser();
    const base = () => validClaims(user.sub, user.sid);
    const without = (claim: string) => {
      const claims = base();
      delete claims[claim];
      return claims;
    };
    const now = Math.floor(Date.now() / 1000);
    const unsigned = (claims: JWTPayload) =>
      `${base64url.encode(JSON.stringify({ alg: 'none', typ: 'logout+jwt' }))}.${base64url.encode(JSON.stringify(claims))}.`;
    const hs256 = await new SignJWT(base())
      .setProtectedHeader({ alg: 'HS256', typ: 'logout+jwt' })
      .sign(new TextEncoder().encode(stack.clientSecret));

    const variants: Record<string, string> = {
      'alg none': unsigned(base()),
      'wrong alg (HS256 with the client secret)': hs256,
      'no event': await craft(without('events')),
      'wrong event': await craft({ ...base(), events: { 'http://schemas.openid.net/event/other': {} } }),
      'event not an object': await craft({ ...base(), events: { [EVENT]: 'yes' } }),
      'nonce present': await craft({ ...base(), nonce: 'n-0S6_WzA2Mj' }),
      'wrong aud': await craft({ ...base(), aud: 'someone-else' }),
      'wrong iss': await craft({ ...base(), iss: 'https://evil.test' }),
      expired: await craft({ ...base(), iat: now - 600, exp: now - 300 }),
      'issued long ago': await craft({ ...base(), iat: now - 3600 }),
      'no sub and no sid': await craft({ ...without('sub'), sid: undefined }),
      'no jti': await craft(without('jti')),
      'no iat': await craft(without('iat')),
      'typ JWT': await craft(base(), { typ: 'JWT' }),
      'bad signature': (await craft(base())).replace(/.{8}$/, 'AAAAAAAA'),
      garbage: 'not.a.jwt',
      empty: '',
      oversized: 'a'.repeat(20_000),
    };
    for (const [name, token] of Object.entries(variants)) {
      const response = await postToken(token);
      assert.equal(response.status, 400, name);
      assert.equal(((await response.json()) as { error: string }).error, 'invalid_logout_token', name);
      assert.equal(response.headers.get('cache-control'), 'no-store', name);
    }
    assert.equal((await post('logout_token=a&logout_token=b')).status, 400, 'two tokens');
    assert.equal((await post(JSON.stringify({ logout_token: 'x' }), 'application/json')).status, 400, 'not a form');
    assert.equal((await fetch(endpoint())).status, 405, 'GET');
    assert.equal(await alive(), true, 'no malformed token ended the session');
  });

  it('refuses a replayed logout token (same jti)', async () => {
    const first = await signedInUser();
    const token = await craft(validClaims(first.user.sub, first.user.sid));
    assert.equal((await postToken(token)).status, 200);
    const second = await signedInUser();
    const replay = await postToken(token);
    assert.equal(replay.status, 400);
    assert.equal(await second.alive(), true);
  });
});
