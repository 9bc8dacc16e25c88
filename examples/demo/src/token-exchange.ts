/**
 * Token exchange for the demo provider: RFC 8693, and the on-behalf-of form of Microsoft Entra ID
 * (RFC 7523's JWT bearer grant with `requested_token_use=on_behalf_of`, the API named by its scope
 * "<audience>/<name>"). oidc-provider has no handler of its own but lets a provider register grant
 * types: here a subject token that is one of this provider's JWT access tokens becomes a JWT access
 * token for one allowed audience, for the same user, with the scope asked for (within what that
 * audience allows) or all of it. Anything else is refused the way the RFCs say: an unknown audience
 * is invalid_target, a scope beyond it invalid_scope, a subject token that does not verify
 * invalid_grant.
 */
import { randomBytes } from 'node:crypto';
import { importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type Provider from 'oidc-provider';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';

export interface TokenExchangeOptions {
  /** Audiences a token may be exchanged for, each with the scope it allows. */
  audiences: Record<string, string>;
  ttlSeconds: number;
}

interface ExchangeParams {
  subject_token?: string;
  subject_token_type?: string;
  audience?: string;
  resource?: string;
  scope?: string;
  actor_token?: string;
  assertion?: string;
  requested_token_use?: string;
}

export function registerTokenExchange(
  provider: Provider,
  issuer: string,
  signingKey: JWK,
  options: TokenExchangeOptions,
): void {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...publicJwk } = signingKey;
  const alg = signingKey.alg!;
  const verify = async (token: string | undefined, what: string) => {
    try {
      return (await jwtVerify(token ?? '', await importJWK(publicJwk, alg), { issuer })).payload;
    } catch {
      throw new errors.InvalidGrant(`${what} is not a valid access token of this provider`);
    }
  };

  /** The token for `audience`, in answer to the subject token (and, with an actor token, on its behalf). */
  const exchange = async (ctx: KoaContextWithOIDC, subjectToken: string | undefined, audience: string) => {
    const params = ctx.oidc.params as ExchangeParams;
    const subject = await verify(subjectToken, 'subject_token');
    const allowed = options.audiences[audience];
    if (allowed === undefined) throw new errors.InvalidTarget('this token cannot be exchanged for that audience');
    const scope = params.scope ?? allowed;
    if (!scope.split(' ').every((s) => allowed.split(' ').includes(s))) {
      throw new errors.InvalidScope('scope beyond what the audience allows', scope);
    }
    const actor = params.actor_token ? await verify(params.actor_token, 'actor_token') : undefined;
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({
      scope,
      client_id: ctx.oidc.client!.clientId,
      ...(actor ? { act: { sub: actor.client_id ?? actor.sub } } : {}),
    })
      .setProtectedHeader({ alg, kid: signingKey.kid, typ: 'at+jwt' })
      .setIssuer(issuer)
      .setSubject(String(subject.sub))
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(now + options.ttlSeconds)
      .setJti(randomBytes(16).toString('base64url'))
      .sign(await importJWK(signingKey, alg));
    ctx.body = {
      access_token: token,
      issued_token_type: ACCESS_TOKEN,
      token_type: 'Bearer',
      expires_in: options.ttlSeconds,
      scope,
    };
  };

  provider.registerGrantType(
    TOKEN_EXCHANGE,
    async (ctx) => {
      const params = ctx.oidc.params as ExchangeParams;
      if (params.subject_token_type !== ACCESS_TOKEN) throw new errors.InvalidRequest('unsupported subject_token_type');
      await exchange(ctx, params.subject_token, params.audience ?? params.resource ?? '');
    },
    [
      'subject_token',
      'subject_token_type',
      'audience',
      'resource',
      'scope',
      'requested_token_type',
      'actor_token',
      'actor_token_type',
    ],
  );
  provider.registerGrantType(
    JWT_BEARER,
    async (ctx) => {
      const params = ctx.oidc.params as ExchangeParams;
      if (params.requested_token_use !== 'on_behalf_of') throw new errors.InvalidRequest('only on_behalf_of');
      const scope = params.scope ?? '';
      await exchange(ctx, params.assertion, scope.slice(0, scope.lastIndexOf('/')));
    },
    ['assertion', 'requested_token_use', 'scope'],
  );
}
