/**
 * The /auth endpoints (HTTP glue around OidcClient and SessionManager), for every runtime:
 *   GET  /login?returnTo=&prompt=&provider=   start the code flow (prompt=none: silent, back signed out if it cannot be)
 *   GET  /callback          finish it, rotate the session id, redirect to returnTo
 *   POST /callback          the same, for the form_post response modes
 *   GET  /jwks              the public half of Gatehouse's keys, for registration by jwks_uri
 *   GET  /user              the user's claims and session timing (never tokens)
 *   POST /logout            end the session, return the provider's end-session URL
 *   GET  /logout?sid=       the same for plain links, authorised by a session-bound value
 * Back-channel logout lives in backchannel-route.ts.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { GatehouseError } from '../errors.js';
import { noStore, rawQuery, type HttpReply, type HttpRequest } from '../http/exchange.js';
import { routeOnly, type Router } from '../http/router.js';
import { navigationProblem } from '../security/request-checks.js';
import type { ActiveSession } from '../session/session-manager.js';
import { userClaims } from '../session/session.js';
import type { Services } from '../services.js';
import { safeReturnTo } from './return-to.js';
import { interactionNeeded } from './errors.js';
import type { SignInRequest } from './login-transaction.js';
import type { OidcClient } from './client.js';
import { DEFAULT_PROVIDER } from '../config/schema.js';

/**
 * What /auth/login may ask of the provider, each at most once: `prompt` none (silent sign-in) or
 * login (ask again even with a session there); a step-up's `acr_values` (space-separated) and
 * `max_age` (seconds), as a 401 step_up_required named them.
 */
function signInRequestOf(query: URLSearchParams): SignInRequest {
  const one = (name: string) => {
    const values = query.getAll(name);
    if (values.length > 1) throw badLogin(`${name} repeated`);
    return values[0];
  };
  const prompt = one('prompt');
  if (prompt !== undefined && prompt !== 'none' && prompt !== 'login') throw badLogin(`prompt ${prompt}`);
  const acr = one('acr_values');
  const acrValues = acr?.split(' ').filter(Boolean);
  if (acr !== undefined && (!ACR_VALUES.test(acr) || acrValues!.length === 0 || acrValues!.length > 10)) {
    throw badLogin('acr_values');
  }
  const age = one('max_age');
  if (age !== undefined && !/^\d{1,8}$/.test(age)) throw badLogin(`max_age ${age}`);
  return { prompt, acrValues, maxAge: age === undefined ? undefined : Number(age) };
}

/** Space-separated acr values: printable ASCII without quotes or backslashes (they end up in a URL and a JWT). */
const ACR_VALUES = /^[\x20\x21\x23-\x5B\x5D-\x7E]{1,1024}$/;

function badLogin(detail: string): GatehouseError {
  return new GatehouseError('invalid_request', {
    message: 'Sign-in takes prompt (none or login), acr_values, max_age (seconds) and provider, each at most once.',
    detail: `login: ${detail}`,
  });
}

/** `path` with `name=value` added to its query (before any fragment). */
function withQuery(path: string, name: string, value: string): string {
  const hash = path.indexOf('#');
  const [base, fragment] = hash === -1 ? [path, ''] : [path.slice(0, hash), path.slice(hash)];
  const pair = `${name}=${encodeURIComponent(value)}`;
  return `${base}${base.includes('?') ? '&' : '?'}${pair}${fragment}`;
}

/** Parameters of the authorization response; each may appear at most once (RFC 6749 §3.1). */
const CALLBACK_PARAMS = [
  'code',
  'state',
  'iss',
  'error',
  'error_description',
  'error_uri',
  'session_state',
  'response',
];
/** A form_post body larger than this is not an authorization response. */
const MAX_FORM_POST_BYTES = 64 * 1024;

export function authRoutes(app: Router, services: Services): void {
  const { config, providers, sessions, transactions, tokens, checks, limits } = services;
  const basePath = config.basePath;

  const signInLimit = (request: HttpRequest) => limits.check('sign-in', request.ip, config.rateLimit.signIn);

  const login = async (request: HttpRequest, reply: HttpReply) => {
    await signInLimit(request);
    const problem = navigationProblem(request);
    if (problem) throw problem;
    const query = new URLSearchParams(rawQuery(request));
    if (query.getAll('returnTo').length > 1) throw new GatehouseError('invalid_return_to');
    const returnTo = safeReturnTo(query.get('returnTo') ?? undefined, config.publicOrigin, `${config.pathPrefix}/`);
    const asked = signInRequestOf(query);
    const oidc = await providerOf(request, reply, query);
    const { url, transaction } = await oidc.startLogin(returnTo, sessions.cookieSessionKey(request), asked);
    transactions.save(request, reply, transaction, oidc.settings);
    noStore(reply);
    return reply.redirect(url, 302);
  };
  routeOnly(app, ['GET'], `${basePath}/auth/login`, login, { htmlErrors: true });

  /**
   * Where a sign-in goes: the provider named by `provider` (an unknown name is refused, never
   * replaced by a default); unnamed, the one the browser's session signed in with (a step-up or
   * a new sign-in stays with it), else the default provider.
   */
  const providerOf = async (request: HttpRequest, reply: HttpReply, query: URLSearchParams) => {
    const named = query.getAll('provider');
    if (named.length > 1) throw badLogin('provider repeated');
    if (named.length === 1) {
      const oidc = providers.named(named[0]!);
      if (!oidc) {
        throw new GatehouseError('invalid_request', {
          // The name is not echoed: an error page must not say what a link's author put there.
          message: 'There is no sign-in provider of that name.',
          detail: 'login: unknown provider',
        });
      }
      return oidc;
    }
    if (providers.all.length === 1) return providers.default;
    const session = await sessions.load(request, reply, { slide: false });
    return (session && providers.named(session.data.provider ?? DEFAULT_PROVIDER)) ?? providers.default;
  };

  /**
   * The callback found no transaction for its state. With no transaction cookie at all on a plain
   * http site, the browser most likely refused to keep a Secure cookie there: WebKit (Safari) does
   * so even on http://localhost, which Chromium and Firefox treat as secure. Say so.
   */
  const noTransaction = (request: HttpRequest) =>
    new GatehouseError('invalid_state', {
      detail: 'no matching login transaction',
      ...(config.publicOrigin.startsWith('http:') &&
        !transactions.anyPending(request) && {
          message:
            'This browser did not keep the sign-in cookie. Some browsers (Safari and other WebKit browsers) keep no Secure cookies on a plain http:// site, not even localhost: open the app over https.',
        }),
    });

  const formPost = providers.all.some((oidc) => oidc.settings.responseMode.startsWith('form_post'));

  const callback = async (request: HttpRequest, reply: HttpReply) => {
    noStore(reply);
    reply.header('referrer-policy', 'no-referrer');
    await signInLimit(request);
    const response = request.method === 'POST' ? { form: formBody(request) } : { query: rawQuery(request) };
    const params = new URLSearchParams('form' in response ? response.form : response.query);
    for (const name of CALLBACK_PARAMS) {
      if (params.getAll(name).length > 1) {
        throw new GatehouseError('invalid_request', {
          detail: `callback parameter ${name} repeated`,
        });
      }
    }
    const state = await providers.responseState(params);
    if (!state)
      throw new GatehouseError('invalid_state', {
        detail: 'callback without state',
      });
    const transaction = transactions.take(request, reply, state);
    if (!transaction) throw noTransaction(request);
    // The answer is taken from the provider the sign-in went to, and in the way it answers.
    const oidc = providers.named(transaction.provider);
    if (!oidc)
      throw new GatehouseError('invalid_state', { detail: 'the sign-in went to a provider no longer configured' });
    if ((request.method === 'POST') !== oidc.settings.responseMode.startsWith('form_post')) {
      throw new GatehouseError('invalid_request', {
        detail: `callback by ${request.method} from provider ${oidc.name}`,
      });
    }
    // One callback per transaction, even when someone replays the URL with the old cookies.
    const stateKey = `state:${createHash('sha256').update(state).digest('base64url')}`;
    if (!(await sessions.markUsed(stateKey, oidc.settings.loginTimeout))) {
      throw new GatehouseError('invalid_state', {
        detail: 'login transaction replayed',
      });
    }
    let result: Awaited<ReturnType<OidcClient['finishLogin']>>;
    try {
      result = await oidc.finishLogin(response, transaction);
    } catch (error) {
      // A silent sign-in the provider cannot complete without the user: back to the app, signed out.
      const needed = transaction.prompt === 'none' ? interactionNeeded(error) : undefined;
      if (!needed) throw error;
      request.log.info({ code: needed }, 'silent sign-in: the provider needs the user');
      return reply.redirect(withQuery(transaction.returnTo, 'gatehouse_signin', needed), 302);
    }
    // A new id at every sign-in: whatever session (or planted cookie) came before is ended.
    for (const key of new Set([transaction.previousSessionId, sessions.cookieSessionKey(request)])) {
      if (key !== undefined) await sessions.discard(key);
    }
    await sessions.create(reply, {
      iss: String(result.claims.iss),
      sub: String(result.claims.sub),
      sid: typeof result.claims.sid === 'string' ? result.claims.sid : undefined,
      // Absent for the default provider: sessions look as they always have where there is one.
      provider: oidc.name === DEFAULT_PROVIDER ? undefined : oidc.name,
      tokens: result.tokens,
      dpopKey: result.dpopKey,
    });
    services.metrics?.logins.inc();
    request.log.info({ sub: result.claims.sub, provider: oidc.name }, 'signed in');
    // 303: after a form_post, the browser must GET the page.
    return reply.redirect(transaction.returnTo, request.method === 'POST' ? 303 : 302);
  };
  // The provider's auto-submitting page posts the response: the body as text, parsed above.
  routeOnly(app, formPost ? ['GET', 'POST'] : ['GET'], `${basePath}/auth/callback`, callback, {
    htmlErrors: true,
    ...(formPost && { body: { kind: 'form', limit: MAX_FORM_POST_BYTES } }),
  });

  routeOnly(app, ['GET'], `${basePath}/auth/jwks`, async (_request, reply) => {
    const jwks = providers.jwks();
    if (jwks.keys.length === 0) throw new GatehouseError('not_found');
    reply.header('cache-control', 'public, max-age=300');
    reply.type('application/jwk-set+json');
    return jwks;
  });

  routeOnly(app, ['GET'], `${basePath}/auth/user`, async (request, reply) => {
    noStore(reply);
    const slide = new URLSearchParams(rawQuery(request)).get('slide') !== 'false';
    const session = await sessions.require(request, reply, { slide });
    await limits.check('session', session.key, config.rateLimit.perSession);
    const csrf = checks.apiProblem(request);
    if (csrf) throw csrf;
    const { data } = session;
    return {
      ...userClaims(data.tokens),
      gatehouse: {
        sessionExpiresAt: new Date(sessions.idleExpiresAt(data)).toISOString(),
        absoluteExpiresAt: new Date(data.expiresAt).toISOString(),
        logoutUrl: `${basePath}/auth/logout?sid=${data.logoutKey}`,
        provider: data.provider ?? DEFAULT_PROVIDER,
      },
    };
  });

  const logoutCall = async (request: HttpRequest, reply: HttpReply) => {
    noStore(reply);
    const csrf = checks.apiProblem(request);
    if (csrf) throw csrf;
    const session = await sessions.load(request, reply, { slide: false });
    return { logoutUrl: await endSession(request, reply, session) };
  };

  const logoutLink = async (request: HttpRequest, reply: HttpReply) => {
    noStore(reply);
    const sid = new URLSearchParams(rawQuery(request)).getAll('sid');
    if (sid.length !== 1)
      throw new GatehouseError('invalid_request', {
        detail: 'logout link without one sid',
      });
    const session = await sessions.load(request, reply, { slide: false });
    if (session && !sameSecret(sid[0]!, session.data.logoutKey)) {
      throw new GatehouseError('invalid_request', {
        detail: 'logout link sid does not match the session',
      });
    }
    return reply.redirect(await endSession(request, reply, session), 302);
  };
  routeOnly(app, ['GET', 'POST'], `${basePath}/auth/logout`, (request, reply) =>
    request.method === 'POST' ? logoutCall(request, reply) : logoutLink(request, reply),
  );

  /** Ends the session and returns where the browser should go next (the provider's end-session URL). */
  async function endSession(
    request: HttpRequest,
    reply: HttpReply,
    session: ActiveSession | undefined,
  ): Promise<string> {
    await sessions.end(request, reply, session);
    if (session) {
      reply.log.info({ sub: session.data.sub }, 'signed out');
      // RFC 7009: the refresh token dies with the session (best effort: the session is over either way).
      await tokens.revoke(session.data).catch((error: unknown) => {
        reply.log.warn({ err: error }, 'token revocation at logout failed');
      });
    }
    // The provider the session signed in with ends its own session there.
    const oidc = (session && providers.named(session.data.provider ?? DEFAULT_PROVIDER)) ?? providers.default;
    try {
      return (await oidc.endSessionUrl(session?.data.tokens.idToken)) ?? oidc.settings.postLogoutRedirectUri;
    } catch {
      // The local session is over either way; without the provider's metadata, go home.
      return oidc.settings.postLogoutRedirectUri;
    }
  }
}

/** A form_post body, as text; anything else is not an authorization response. */
function formBody(request: HttpRequest): string {
  if (typeof request.body !== 'string') {
    throw new GatehouseError('invalid_request', { detail: 'callback POST without a form body' });
  }
  return request.body;
}

function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
