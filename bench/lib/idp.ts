/**
 * The identity provider: the demo OpenID Provider (oidc-provider), in the runner's process. It is
 * only busy during sign-ins and refreshes; the throughput runs never reach it. Its issuer is named
 * "localhost" while the apps live on 127.0.0.1, so that, as in production, the provider is another
 * site than the app and the cookie jar applies SameSite rules for real.
 *
 * Besides the demo's own record of grants, every token-endpoint call is logged here with the time
 * and the provider's grant id: each sign-in of a fresh browser is a grant of its own, so the grant
 * id names the session whose refresh token was used. The log also says how the client
 * authenticated, what kind of token it got (Bearer or DPoP) and the ID token's algorithm, and has
 * an entry for every pushed authorization request (type `par`): proof that a target signs in the
 * way its profile says, not merely that it signs in (lib/profiles.ts). For the tokens meant for one
 * API (lib/derived.ts) it also has the issued access token's audience, and a token exchange is
 * entered under the grant of the token it exchanged, so that it too names its session.
 */
import { decodeJwt, decodeProtectedHeader } from 'jose';
import type { KoaContextWithOIDC } from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';
import instance from 'oidc-provider/lib/helpers/weak_cache.js';
import { startDemoIdp, type DemoIdp, type DemoIdpOptions } from '../../examples/demo/src/idp.js';

export interface GrantEvent {
  at: number;
  /** The grant type, or `par` for a pushed authorization request. */
  type: string;
  clientId: string | undefined;
  grantId: string | undefined;
  ok: boolean;
  error?: string;
  /** The client's registered authentication method (the provider accepts no other). */
  clientAuth?: string;
  /** Issued tokens only: `Bearer` or `DPoP` (bound to the key of the request's DPoP proof). */
  tokenType?: string;
  idTokenAlg?: string;
  /** Issued tokens only: the access token's audience (every access token here is a JWT). */
  audience?: string;
}

export interface BenchIdp {
  demo: DemoIdp;
  issuer: string;
  events: GrantEvent[];
  close(): Promise<void>;
}

interface Entities {
  RefreshToken?: { grantId?: string };
  AuthorizationCode?: { grantId?: string };
}

export async function startIdp(
  options: Pick<DemoIdpOptions, 'clients' | 'signingAlg' | 'features' | 'resources' | 'tokenExchange'> & {
    accessTokenTtlSeconds: number;
    rotateRefreshTokens: boolean;
  },
): Promise<BenchIdp> {
  const demo = await startDemoIdp({ publicHost: 'localhost', ...options });
  // The demo provider keeps grants, sessions and tokens in oidc-provider's development memory
  // adapter, an LRU of 1,000 to 2,000 records. Two hundred sign-ins (about eight records each) are
  // enough for it to forget live refresh tokens, and it would then refuse refreshes for a reason of
  // its own ("refresh token not found"). A real provider keeps its grants: give this one room
  // before it serves its first request (models pick their adapter up on first use).
  const store = new LRU({ maxSize: 10_000_000 });
  instance(demo.provider).Adapter = (model: string) => new MemoryAdapter(model, store);
  const events: GrantEvent[] = [];
  // A token exchange has no grant of its own at the provider: it is entered under the grant that
  // issued the access token it presents (by the token's jti).
  const grantOfToken = new Map<string, string | undefined>();
  const claims = (token: unknown) => {
    try {
      return typeof token === 'string' ? decodeJwt(token) : undefined;
    } catch {
      return undefined; // not a JWT
    }
  };
  const record = (ctx: KoaContextWithOIDC, type: string, ok: boolean, error?: string) => {
    const entities = ctx.oidc.entities as Entities;
    const body = (ok ? ctx.body : {}) as { token_type?: string; id_token?: string; access_token?: string };
    const subject = claims((ctx.oidc.params as { subject_token?: unknown } | undefined)?.subject_token);
    const grantId =
      (entities.RefreshToken ?? entities.AuthorizationCode)?.grantId ??
      (subject?.jti === undefined ? undefined : grantOfToken.get(subject.jti));
    const issued = claims(body.access_token);
    if (issued?.jti !== undefined) grantOfToken.set(issued.jti, grantId);
    events.push({
      at: Date.now(),
      type,
      clientId: ctx.oidc.client?.clientId,
      grantId,
      ok,
      error,
      clientAuth: ctx.oidc.client?.clientAuthMethod,
      tokenType: body.token_type,
      idTokenAlg: body.id_token ? decodeProtectedHeader(body.id_token).alg : undefined,
      audience: issued && [issued.aud ?? []].flat().join(' '),
    });
  };
  type ErrorOut = { error?: string; error_description?: string; error_detail?: string };
  const describe = (error: ErrorOut) => `${error.error}: ${error.error_detail ?? error.error_description}`;
  const grantType = (ctx: KoaContextWithOIDC) => String(ctx.oidc.params?.grant_type);
  demo.provider.on('grant.success', (ctx: KoaContextWithOIDC) => record(ctx, grantType(ctx), true));
  demo.provider.on('grant.error', (ctx: KoaContextWithOIDC, error: ErrorOut) =>
    record(ctx, grantType(ctx), false, describe(error)),
  );
  demo.provider.on('pushed_authorization_request.success', (ctx: KoaContextWithOIDC) => record(ctx, 'par', true));
  demo.provider.on('pushed_authorization_request.error', (ctx: KoaContextWithOIDC, error: ErrorOut) =>
    record(ctx, 'par', false, describe(error)),
  );
  return { demo, issuer: demo.issuer, events, close: () => demo.close() };
}
