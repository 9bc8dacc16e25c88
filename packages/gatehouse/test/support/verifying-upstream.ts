/**
 * A resource server that checks tokens the way a strict API would, with jose: the access token (a
 * JWT from the test provider: signature, issuer, audience: this API's and no other), and, for
 * sender-constrained tokens, either its DPoP proof (RFC 9449 §4.3 and §7: typ, an asymmetric alg, the embedded key's thumbprint equal to
 * the token's cnf.jkt, htm, htu, iat, ath, a jti never seen before, and the nonce when it demands
 * one) or, for certificate-bound tokens (RFC 8705 §3), the TLS client certificate's thumbprint
 * against cnf["x5t#S256"]. Every call's verdict is recorded.
 */
import { createHash } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { calculateJwkThumbprint, createRemoteJWKSet, customFetch, EmbeddedJWK, jwtVerify, type JWK } from 'jose';
import { Agent, fetch as undiciFetch } from 'undici';

export interface Verdict {
  method: string;
  path: string;
  ok: boolean;
  /** Why the call was refused. */
  reason?: string;
  /** The token's audience, when it verified. */
  aud?: unknown;
  /** The token's scope and actor, when it verified. */
  scope?: unknown;
  act?: unknown;
  /** The proof's jti (DPoP). */
  jti?: string;
  /** The nonce the proof carried. */
  nonce?: string;
}

export interface VerifyingUpstream {
  url: string;
  verdicts: Verdict[];
  /** From now on, proofs must carry this nonce (undefined: no nonce needed). */
  demandNonce(nonce: string | undefined): void;
  /** The provider whose access tokens this server accepts (set once the provider is up). */
  trust(provider: TrustedProvider): void;
  close(): Promise<void>;
}

export interface TrustedProvider {
  issuer: string;
  audience: string;
}

export interface VerifyingUpstreamOptions {
  mode: 'bearer' | 'dpop' | 'mtls';
  /** The provider's CA, when it serves HTTPS. */
  providerCa?: string;
  /** Serve HTTPS (required for mtls), asking for a client certificate. */
  tls?: { key: string; cert: string; ca: string };
}

const DPOP_ALGS = ['ES256', 'PS256', 'EdDSA'];

export async function startVerifyingUpstream(options: VerifyingUpstreamOptions): Promise<VerifyingUpstream> {
  const agent = options.providerCa ? new Agent({ connect: { ca: options.providerCa } }) : undefined;
  let trusted: (TrustedProvider & { jwks: ReturnType<typeof createRemoteJWKSet> }) | undefined;
  const verdicts: Verdict[] = [];
  const seenJti = new Set<string>();
  let nonce: string | undefined;
  let origin = '';

  const refuse = (res: ServerResponse, verdict: Verdict, reason: string, headers: Record<string, string> = {}) => {
    verdicts.push({ ...verdict, ok: false, reason });
    res.writeHead(401, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ error: 'invalid_token' }));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    for await (const _chunk of req); // read the body, if any
    const path = req.url!.split('?')[0]!;
    const verdict: Verdict = { method: req.method!, path, ok: false };
    const [scheme, token, ...rest] = (req.headers.authorization ?? '').split(' ');
    if (!token || rest.length > 0) return refuse(res, verdict, 'no token');
    let cnf: Record<string, unknown>;
    try {
      if (!trusted) throw new Error('no provider trusted yet');
      const { payload } = await jwtVerify(token, trusted.jwks, { issuer: trusted.issuer, audience: trusted.audience });
      Object.assign(verdict, { aud: payload.aud, scope: payload.scope, act: payload.act });
      cnf = (payload.cnf ?? {}) as Record<string, unknown>;
    } catch (error) {
      return refuse(res, verdict, `access token: ${(error as Error).message}`);
    }
    if (options.mode === 'bearer') {
      if (scheme!.toLowerCase() !== 'bearer' || cnf.jkt !== undefined) return refuse(res, verdict, `scheme ${scheme}`);
      return answer(res, verdict);
    }
    if (options.mode === 'mtls') {
      const raw = (req.socket as TLSSocket).getPeerCertificate?.()?.raw;
      const thumbprint = raw && createHash('sha256').update(raw).digest('base64url');
      if (!thumbprint || cnf['x5t#S256'] !== thumbprint) return refuse(res, verdict, 'certificate does not match cnf');
      return answer(res, verdict);
    }
    if (scheme!.toLowerCase() !== 'dpop') return refuse(res, verdict, `scheme ${scheme}`);
    const proof = req.headers.dpop;
    if (typeof proof !== 'string') return refuse(res, verdict, 'no DPoP proof');
    try {
      const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, {
        typ: 'dpop+jwt',
        algorithms: DPOP_ALGS,
        maxTokenAge: '60s',
        clockTolerance: 5,
        requiredClaims: ['jti', 'htm', 'htu', 'iat'],
      });
      verdict.jti = String(payload.jti);
      verdict.nonce = payload.nonce as string | undefined;
      if ((await calculateJwkThumbprint(protectedHeader.jwk as JWK)) !== cnf.jkt) throw new Error('key is not cnf.jkt');
      if (payload.htm !== req.method) throw new Error(`htm ${String(payload.htm)}`);
      if (payload.htu !== `${origin}${path}`) throw new Error(`htu ${String(payload.htu)}`);
      if (payload.ath !== createHash('sha256').update(token).digest('base64url')) throw new Error('ath');
      if (seenJti.has(verdict.jti)) throw new Error('jti replayed');
      seenJti.add(verdict.jti);
    } catch (error) {
      return refuse(res, verdict, `proof: ${(error as Error).message}`);
    }
    if (nonce !== undefined && verdict.nonce !== nonce) {
      return refuse(res, verdict, 'nonce', {
        'www-authenticate':
          'DPoP error="use_dpop_nonce", error_description="Resource server requires nonce in DPoP proof"',
        'dpop-nonce': nonce,
      });
    }
    answer(res, verdict);
  };

  const answer = (res: ServerResponse, verdict: Verdict) => {
    verdicts.push({ ...verdict, ok: true });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ok: true, path: verdict.path }));
  };

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch(() => res.destroy());
  };
  const server = options.tls
    ? createHttpsServer({ ...options.tls, requestCert: true, rejectUnauthorized: false }, listener)
    : createHttpServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: origin,
    verdicts,
    demandNonce: (value) => {
      nonce = value;
    },
    trust: (provider) => {
      // oidc-provider serves its keys at /jwks.
      trusted = {
        ...provider,
        jwks: createRemoteJWKSet(new URL(`${provider.issuer}/jwks`), {
          [customFetch]: (url, init) =>
            undiciFetch(url, { ...(init as object), dispatcher: agent }) as unknown as Promise<Response>,
        }),
      };
    },
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await agent?.close();
    },
  };
}
