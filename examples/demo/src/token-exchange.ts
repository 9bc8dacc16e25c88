/**
 * RFC 8693 token exchange for the demo provider. oidc-provider has no handler of its own but lets a
 * provider register grant types: here a subject token that is one of this provider's JWT access
 * tokens becomes a JWT access token for one allowed audience, for the same user, with the scope
 * asked for (within what that audience allows) or all of it. Anything else is refused the way the
 * RFC says: an unknown audience is invalid_target, a scope beyond it invalid_scope, a subject token
 * that does not verify invalid_grant.
 */
import { randomBytes } from 'node:crypto';
import { importJWK, jwtVerify, SignJWT, type JWK } from 'jose';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type Provider from 'oidc-provider';

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
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

  const handler = async (ctx: KoaContextWithOIDC) => {
    const params = ctx.oidc.params as ExchangeParams;
    if (params.subject_token_type !== ACCESS_TOKEN) throw new errors.InvalidRequest('unsupported subject_token_type');
    const subject = await verify(params.subject_token, 'subject_token');
    const audience = params.audience ?? params.resource ?? '';
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
  provider.registerGrantType(TOKEN_EXCHANGE, handler, [
    'subject_token',
    'subject_token_type',
    'audience',
    'resource',
    'scope',
    'requested_token_type',
    'actor_token',
    'actor_token_type',
  ]);
}
