/**
 * Configuration of a token per API: what `resource`, `scope` and a token exchange need of the token
 * kind they go with, and what sign-in asks for because of them.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../src/config/load.js';
import type { GatehouseConfigInput } from '../src/config/schema.js';
import { signInResources } from '../src/tokens/derived-tokens.js';
import { problemsOf } from './support/config.js';

const base = (routes: GatehouseConfigInput['routes'], upstreams: GatehouseConfigInput['upstreams'] = {}) => ({
  publicUrl: 'https://app.example.com',
  oidc: { issuer: 'https://login.example.com', clientId: 'bff', clientSecret: 'secret' },
  session: { secrets: ['s'.repeat(40)] },
  routes,
  upstreams,
});
const upstream = 'http://api.internal';

describe('tokens per API: configuration', () => {
  it('accepts resources, scopes and exchanges where they mean something', () => {
    const config = parseConfig(
      base(
        [
          { path: '/a', upstream, resource: 'https://a.example', scope: 'a:read' },
          { path: '/b', upstream, token: 'client', resource: 'urn:example:b' },
          { path: '/c', upstream, token: { exchange: { audience: 'c-api', scope: 'c:read', actor: true } } },
        ],
        { d: { url: upstream, resource: 'https://d.example' } },
      ),
    );
    assert.deepEqual(config.routes[2]!.token, {
      exchange: {
        grant: 'token-exchange',
        audience: 'c-api',
        scope: 'c:read',
        actor: true,
        requestedTokenType: 'urn:ietf:params:oauth:token-type:access_token',
      },
    });
    assert.equal(config.routes[2]!.requireSession, true, 'an exchange needs a user');
    // Sign-in asks for the user tokens' resources and scopes (not the client's, not the exchange's).
    assert.deepEqual(signInResources([...config.routes, ...Object.values(config.upstreams)]), {
      resources: ['https://a.example', 'https://d.example'],
      scopes: ['a:read'],
    });
  });

  it('refuses resources that are not absolute URIs, and an exchange that names no target', () => {
    assert.deepEqual(
      problemsOf(
        base([
          { path: '/a', upstream, resource: 'not a uri' },
          { path: '/b', upstream, resource: 'https://b.example#part' },
          { path: '/f', upstream, token: { exchange: { scope: 'f:read' } } },
        ]),
      ),
      [
        'routes[0].resource: expected an absolute URI without a fragment',
        'routes[1].resource: expected an absolute URI without a fragment',
        'routes[2].token.exchange: expected an audience or a resource (on-behalf-of: a scope)',
      ],
    );
  });

  it('refuses what does not fit the token kind, naming each key', () => {
    const problems = problemsOf(
      base(
        [
          { path: '/c', upstream, token: 'none', resource: 'https://c.example' },
          { path: '/d', upstream, token: { exchange: { audience: 'd' } }, resource: 'https://d.example' },
          { path: '/e', upstream, scope: 'e:read' },
          { path: '/g', upstream, token: { exchange: { audience: 'g' } }, requireSession: false },
        ],
        { h: { url: upstream, token: 'none', scope: 'h:read' } },
      ),
    );
    assert.deepEqual(problems, [
      'routes[0].resource: not used with this token (an exchange names its resource in token.exchange)',
      'routes[1].resource: not used with this token (an exchange names its resource in token.exchange)',
      'routes[2].scope: only used with token "client" or "user-or-client", or with a resource',
      "routes[3].requireSession: a route with a user's token needs a session",
      'upstreams.h.scope: only used with token "client" or "user-or-client", or with a resource',
    ]);
  });
});
