/**
 * The login transaction (PKCE verifier, state, nonce, returnTo, DPoP key) lives in a short-lived
 * encrypted cookie between /auth/login and /auth/callback. It is SameSite=Lax because it must
 * survive the provider's cross-site redirect back; with a form_post response mode the provider's
 * page POSTs the response cross-site, which a Lax cookie does not follow, so the cookie is then
 * SameSite=None (still Secure, HttpOnly, sealed, bound to its state and single-use; the session
 * cookie stays Strict). Each transaction has its own cookie (named after a hash of its state) so
 * two tabs signing in at once do not clobber each other.
 */
import { createHash } from 'node:crypto';
import type { CookieOptions, HttpReply, HttpRequest } from '../http/exchange.js';
import type { JWK } from 'jose';
import { DEFAULT_PROVIDER } from '../config/schema.js';
import { Aead, appPurpose } from '../session/aead.js';

export interface LoginTransaction {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
  /**
   * The key of the session the browser had when sign-in started. The callback arrives cross-site,
   * so the SameSite=Strict session cookie is not sent there; this is how the callback can end it.
   */
  previousSessionId?: string;
  /** The DPoP key pair (private JWK) the tokens will be bound to, made when sign-in started. */
  dpopKey?: JWK;
  /** `none`: a silent sign-in, whose "no session at the provider" is an answer, not a failure. */
  prompt?: SignInPrompt;
  /** A step-up (RFC 9470): the acr values asked for, one of which the ID token must carry. */
  acrValues?: string[];
  /** A step-up: the user must have authenticated at most this many seconds before the answer. */
  maxAge?: number;
  /** The provider the sign-in went to (oidc.providers; "default" for oidc): only its answer is taken. */
  provider: string;
}

/** What the SPA may ask of a sign-in beyond where to return. */
export interface SignInRequest {
  prompt?: SignInPrompt;
  acrValues?: string[];
  maxAge?: number;
}

/** What the SPA may ask of the provider's sign-in page (OpenID Connect Core §3.1.2.1). */
export type SignInPrompt = 'none' | 'login';

/** More pending transactions than this in one browser means something is looping: start over. */
const MAX_PENDING = 3;

export class LoginTransactions {
  readonly #aead: Aead;
  readonly #prefix: string;
  readonly #cookieOptions: CookieOptions;

  constructor(options: {
    secrets: readonly string[];
    /** The app these sign-ins are for: another app's transactions do not open here. */
    app: string;
    sessionCookieName: string;
  }) {
    this.#aead = new Aead(options.secrets, appPurpose('login-transaction', options.app));
    this.#prefix = `${options.sessionCookieName}-login-`;
    this.#cookieOptions = { path: '/', httpOnly: true, secure: true, sameSite: 'lax' };
  }

  /**
   * Seals the transaction into its own cookie on `reply`, for as long as its provider's
   * loginTimeout; SameSite=None when that provider answers with a cross-site POST (form_post).
   */
  save(
    request: HttpRequest,
    reply: HttpReply,
    tx: LoginTransaction,
    provider: { responseMode: string; loginTimeout: number },
  ): void {
    const pending = this.#pending(request);
    if (pending.length >= MAX_PENDING) for (const name of pending) this.#clear(reply, name);
    const name = this.#cookieName(tx.state);
    reply.setCookie(name, this.#aead.sealJson(tx, name, provider.loginTimeout), {
      ...this.#cookieOptions,
      sameSite: provider.responseMode.startsWith('form_post') ? 'none' : 'lax',
      maxAge: Math.ceil(provider.loginTimeout / 1000),
    });
  }

  /**
   * Finds, opens and clears the transaction this `state` belongs to. Undefined when there is none
   * (unknown state, expired, tampered, or another browser's).
   */
  take(request: HttpRequest, reply: HttpReply, state: string): LoginTransaction | undefined {
    const name = this.#cookieName(state);
    const sealed = request.cookies[name];
    if (sealed === undefined) return undefined;
    this.#clear(reply, name);
    // The name is the associated data: a transaction sealed for one state opens under no other.
    const payload = this.#aead.openJson(sealed, name) as Partial<LoginTransaction> | undefined;
    if (!payload || payload.state !== state) return undefined;
    const { nonce, codeVerifier, returnTo, previousSessionId, dpopKey, prompt, acrValues, maxAge, provider } = payload;
    if (typeof nonce !== 'string' || typeof codeVerifier !== 'string' || typeof returnTo !== 'string') {
      return undefined;
    }
    return {
      state,
      nonce,
      codeVerifier,
      returnTo,
      previousSessionId: typeof previousSessionId === 'string' ? previousSessionId : undefined,
      dpopKey: typeof dpopKey === 'object' && dpopKey !== null ? dpopKey : undefined,
      prompt: prompt === 'none' || prompt === 'login' ? prompt : undefined,
      acrValues: Array.isArray(acrValues) ? acrValues.filter((v): v is string => typeof v === 'string') : undefined,
      maxAge: typeof maxAge === 'number' ? maxAge : undefined,
      // A transaction sealed before providers were named (a sign-in across an upgrade) went to the default one.
      provider: typeof provider === 'string' ? provider : DEFAULT_PROVIDER,
    };
  }

  /** True when the browser sent any login-transaction cookie at all. */
  anyPending(request: HttpRequest): boolean {
    return this.#pending(request).length > 0;
  }

  /** The names of this browser's login-transaction cookies. */
  #pending(request: HttpRequest): string[] {
    return Object.keys(request.cookies).filter((name) => name.startsWith(this.#prefix));
  }

  #cookieName(state: string): string {
    return this.#prefix + createHash('sha256').update(state).digest('base64url').slice(0, 16);
  }

  #clear(reply: HttpReply, name: string): void {
    reply.setCookie(name, '', {
      ...this.#cookieOptions,
      maxAge: 0,
      expires: new Date(0),
    });
  }
}
