/**
 * The compared targets. Each runs in a child process of its own (never in the runner, whose event
 * loop serves the identity provider), on its own port, started just before it is measured and
 * stopped right after, so that only one target at a time competes with the load generator and the
 * upstream for the two cores. Targets with sessions are signed in through the real provider at
 * start; what the browser then holds becomes the load generator's Cookie header. The
 * sender-constrained targets are also checked, at every start, to have signed in the way their
 * profile says (lib/profiles.ts), and the targets with a token per API to have obtained it, once
 * per session (lib/derived.ts).
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { DemoClient } from '../../examples/demo/src/idp.js';
import { derivedEvidence, derivedMismatch, derivedRoute, describeDerived, type DerivedKind } from './derived.js';
import { startGatehouse, type SessionMode } from './gatehouse.js';
import { startGatewayTarget } from './gateway.js';
import type { BenchIdp } from './idp.js';
import type { LoadTool } from './load.js';
import { signIn, type SignInTarget } from './login.js';
import { freePort, httpRequest, waitForHttp } from './net.js';
import { proxyConfig, startNginx } from './nginx.js';
import type { Options } from './options.js';
import { startChild, tempDir, type Child } from './processes.js';
import {
  describeEvidence,
  FAPI2_TARGETS,
  profileClient,
  profileEvidence,
  profileMismatch,
  profileOidc,
  type SenderProfile,
} from './profiles.js';
import { ORDER_BYTES, ORDER_PATH, type Upstream } from './upstream.js';
import { startWorkerdTarget } from './workerd.js';

export const TARGET_NAMES = [
  'direct',
  'nginx',
  'node-proxy',
  'node-proxy-twin',
  'node-proxy-bff',
  'express-oidc',
  'gh-memory',
  'gh-cookie',
  'gh-redis',
  'gh-redis-w2',
  'gh-dpop',
  'gh-fapi2',
  'gh-exchange',
  'gh-resource',
  'gw-nginx',
  'gh-workerd',
  'gh-lambda',
] as const;
export type TargetName = (typeof TARGET_NAMES)[number];

export const TARGET_INFO: Record<TargetName, string> = {
  direct: 'the upstream itself, no proxy',
  nginx: 'nginx reverse proxy, keep-alive upstream pool',
  'node-proxy': 'Fastify + @fastify/reply-from, no auth (the baseline)',
  'node-proxy-twin': 'a second node-proxy process: its ratio is the noise of this run (1.00x when there is none)',
  'node-proxy-bff': 'node-proxy plus the headers a BFF adds (Bearer token, X-Forwarded-*, security headers)',
  'express-oidc': 'express-openid-connect + http-proxy-middleware',
  'gh-memory': 'Gatehouse, memory store',
  'gh-cookie': 'Gatehouse, cookie store',
  'gh-redis': 'Gatehouse, Redis store',
  'gh-redis-w2': 'Gatehouse, Redis store, --workers 2',
  'gh-dpop': 'Gatehouse, memory store, DPoP-bound tokens: a fresh ES256 proof on every call',
  'gh-fapi2': 'Gatehouse, memory store, profile fapi2 (PAR, private_key_jwt, DPoP with nonces, PS256)',
  'gh-exchange':
    'Gatehouse, memory store, every route with a token exchanged for its API (RFC 8693), cached in the session',
  'gh-resource':
    'Gatehouse, memory store, every route with a resource token for its API (RFC 8707), cached in the session',
  'gw-nginx':
    "Gatehouse's gateway mode: nginx with docs/gateway.md's configuration proxies the API calls, asking Gatehouse (memory store) first and caching its yes",
  'gh-workerd': 'Gatehouse as a Cloudflare Worker in workerd, sessions in Durable Objects (edge only)',
  'gh-lambda':
    "Gatehouse's Lambda handler and the Node server, cookie store, each started cold per answer (coldstart only)",
};

/** Everything a scenario needs, shared by the whole run. */
export interface Lab {
  options: Options;
  dir: string;
  upstream: Upstream;
  idp: BenchIdp;
  /** The FAPI 2.0 provider of the FAPI2_TARGETS (lib/profiles.ts). */
  fapi2Idp: BenchIdp;
  redisUrl: string;
  redisAvailable: boolean;
  /** Unique per run: every Redis key this run writes starts with `gatehouse-bench:<runId>:`. */
  runId: string;
  loadTool: LoadTool;
  workers: boolean;
  slots: Map<TargetName, Slot>;
}

/** A target's fixed place: known before the provider starts, which must list every redirect URI. */
export interface Slot {
  port: number;
  adminPort: number;
  clientId: string;
  clientSecret: string;
}

export async function allocateSlots(): Promise<Map<TargetName, Slot>> {
  const slots = new Map<TargetName, Slot>();
  for (const name of TARGET_NAMES) {
    slots.set(name, {
      port: await freePort(),
      adminPort: await freePort(),
      clientId: `bench-${name}`,
      clientSecret: randomBytes(24).toString('base64url'),
    });
  }
  return slots;
}

/** The registrations of the main provider's targets, or with `fapi2`, of the FAPI 2.0 provider's. */
export function idpClients(slots: Map<TargetName, Slot>, fapi2 = false): DemoClient[] {
  return [...slots]
    .filter(([name]) => FAPI2_TARGETS.includes(name) === fapi2)
    .map(([name, slot]) => {
      const app = `http://127.0.0.1:${slot.port}`;
      const callback = name === 'express-oidc' ? `${app}/callback` : `${app}/api/auth/callback`;
      const client = { clientId: slot.clientId, clientSecret: slot.clientSecret, redirectUris: [callback] };
      const profile = GATEHOUSE_MODES[name]?.profile;
      return profile ? profileClient(profile, client, app) : client;
    });
}

/** The provider a target signs in at. */
export function idpOf(lab: Lab, name: TargetName): BenchIdp {
  return FAPI2_TARGETS.includes(name) ? lab.fapi2Idp : lab.idp;
}

export interface RunningTarget {
  name: string;
  origin: string;
  /** What comes before the upstream path: '' for the upstream itself, '/api' for every proxy. */
  apiPrefix: string;
  /** Sent on every request: the signed-in browser's cookies, and Gatehouse's anti-forgery header. */
  headers: Record<string, string>;
  /** Root processes (their descendants count too), for CPU and memory accounting. */
  pids: number[];
  /** Targets of more than one program: each one's root processes, to tell their CPU apart. */
  cpuParts?: Record<string, number[]>;
  /** gw-nginx: forward-auth calls Gatehouse has received so far (those nginx's cache let through). */
  authCalls?(): Promise<number>;
  signIn?: SignInTarget;
  /** Gatehouse on another runtime than Node (no admin listener, no CLI): signed in again like the Node ones. */
  runtime?: 'workerd';
  gatehouse?: { adminUrl: string; keyPrefix: string; sessionCookie: string; secrets: string[] };
  /**
   * Targets with a token per API: throws unless every session since the start obtained its token
   * exactly once; else says what the provider saw. Call when every session so far has made a call.
   */
  verifyTokens?(): string;
  stop(): Promise<void>;
}

export const GATEHOUSE_MODES: Partial<
  Record<TargetName, { mode: SessionMode; workers?: number; profile?: SenderProfile; derived?: DerivedKind }>
> = {
  'gh-memory': { mode: 'memory' },
  'gh-cookie': { mode: 'cookie' },
  'gh-redis': { mode: 'redis' },
  'gh-redis-w2': { mode: 'redis', workers: 2 },
  'gh-dpop': { mode: 'memory', profile: 'dpop' },
  'gh-fapi2': { mode: 'memory', profile: 'fapi2' },
  'gh-exchange': { mode: 'memory', derived: 'exchange' },
  'gh-resource': { mode: 'memory', derived: 'resource' },
};

export function keyPrefix(lab: Lab, label: string): string {
  return `gatehouse-bench:${lab.runId}:${label}:`;
}

export async function startTarget(
  lab: Lab,
  name: TargetName,
  extra: { cpuProfDir?: string; keyPrefix?: string } = {},
): Promise<RunningTarget> {
  const slot = lab.slots.get(name)!;
  const origin = `http://127.0.0.1:${slot.port}`;
  const stopping = (child: Child) => () => child.stop();

  if (name === 'direct') {
    return { name, origin: lab.upstream.url, apiPrefix: '', headers: {}, pids: [], stop: async () => {} };
  }
  let target: RunningTarget;
  if (name === 'gw-nginx') {
    target = await startGatewayTarget(lab, name, slot, {
      ...extra,
      keyPrefix: extra.keyPrefix ?? keyPrefix(lab, name),
    });
  } else if (name === 'gh-workerd') {
    target = await startWorkerdTarget(lab, name, slot);
  } else if (name === 'gh-lambda') {
    throw new Error('gh-lambda has no long-running process: the coldstart scenario starts it per answer');
  } else if (name === 'nginx') {
    const dir = tempDir('nginx-proxy');
    const child = startNginx('nginx proxy', dir, proxyConfig(dir, slot.port, Number(new URL(lab.upstream.url).port)));
    await waitForHttp(`${origin}/api${ORDER_PATH}`, { status: 200, child });
    target = { name, origin, apiPrefix: '/api', headers: {}, pids: [child.pid], stop: stopping(child) };
  } else if (name === 'node-proxy' || name === 'node-proxy-twin' || name === 'node-proxy-bff') {
    const script = name === 'node-proxy-twin' ? 'node-proxy' : name;
    const child = startPeer(script, { PORT: String(slot.port), UPSTREAM: lab.upstream.url }, extra.cpuProfDir);
    await waitForHttp(`${origin}/api${ORDER_PATH}`, { status: 200, child });
    // node-proxy-bff gets what a browser sends Gatehouse: a session cookie and the anti-forgery header.
    const headers: Record<string, string> =
      name === 'node-proxy-bff'
        ? { cookie: `__Host-gatehouse=${randomBytes(32).toString('base64url')}`, 'x-csrf': '1' }
        : {};
    target = { name, origin, apiPrefix: '/api', headers, pids: [child.pid], stop: stopping(child) };
  } else if (name === 'express-oidc') {
    const child = startPeer(
      'express-oidc',
      {
        PORT: String(slot.port),
        UPSTREAM: lab.upstream.url,
        ISSUER: lab.idp.issuer,
        BASE_URL: origin,
        CLIENT_ID: slot.clientId,
        CLIENT_SECRET: slot.clientSecret,
        SESSION_SECRET: randomBytes(32).toString('base64url'),
      },
      extra.cpuProfDir,
    );
    // /login answers once the library has discovered the provider
    await waitForHttp(`${origin}/login`, { status: 302, child });
    const signInTarget = { origin, loginPath: '/login', callbackPath: '/callback' };
    const { cookie } = await signIn(signInTarget);
    target = {
      name,
      origin,
      apiPrefix: '/api',
      headers: { cookie },
      pids: [child.pid],
      signIn: signInTarget,
      stop: stopping(child),
    };
  } else {
    const { mode, workers, profile, derived } = GATEHOUSE_MODES[name]!;
    const idp = idpOf(lab, name);
    const gatehouse = await startGatehouse(lab.dir, {
      name,
      mode,
      workers,
      port: slot.port,
      adminPort: slot.adminPort,
      issuer: idp.issuer,
      clientId: slot.clientId,
      clientSecret: slot.clientSecret,
      upstream: lab.upstream.url,
      redisUrl: lab.redisUrl,
      keyPrefix: extra.keyPrefix ?? keyPrefix(lab, name),
      cpuProfDir: extra.cpuProfDir,
      oidc: profile && profileOidc(profile),
      route: derived && derivedRoute(derived),
    });
    const signInTarget = { origin, loginPath: '/api/auth/login', callbackPath: '/api/auth/callback' };
    const since = Date.now();
    const { cookie, browser } = await signIn(signInTarget).catch(async (error: unknown) => {
      await gatehouse.child.stop();
      throw error;
    });
    // A target that signed in some other way (Bearer tokens, no PAR...) would measure the wrong thing.
    const evidence = profile && profileEvidence(idp, slot.clientId, since);
    const mismatch = profile && profileMismatch(profile, evidence!);
    if (mismatch) {
      await gatehouse.child.stop();
      throw new Error(`${name} did not sign in as profile ${profile}: ${mismatch} (${describeEvidence(evidence!)})`);
    }
    const sessionCookie = (await browser.cookie(`${origin}/`, '__Host-gatehouse')) ?? '';
    target = {
      name,
      origin,
      apiPrefix: '/api',
      headers: { cookie, 'x-csrf': '1' },
      pids: [gatehouse.child.pid],
      signIn: signInTarget,
      gatehouse: {
        adminUrl: gatehouse.adminUrl,
        keyPrefix: gatehouse.keyPrefix,
        sessionCookie,
        secrets: gatehouse.secrets,
      },
      stop: stopping(gatehouse.child),
    };
    if (derived) {
      target.verifyTokens = () => {
        const evidence = derivedEvidence(idp, derived, slot.clientId, since);
        const mismatch = derivedMismatch(evidence);
        if (mismatch)
          throw new Error(
            `${name}: not the token for the API, once per session: ${mismatch} (${describeDerived(evidence)})`,
          );
        return describeDerived(evidence);
      };
    }
  }
  try {
    await probe(target);
    // The probe was the session's first call: its token for the API must have been obtained now.
    target.verifyTokens?.();
  } catch (error) {
    await target.stop();
    throw error;
  }
  return target;
}

function startPeer(name: string, env: NodeJS.ProcessEnv, cpuProfDir?: string): Child {
  const profiling = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', cpuProfDir] : [];
  const script = fileURLToPath(new URL(`../peers/${name}.js`, import.meta.url));
  return startChild(name, process.execPath, [...profiling, script], { env });
}

/** One request as the load generator will send it: it must be a 200 with the whole document. */
export async function probe(target: RunningTarget): Promise<void> {
  const url = `${target.origin}${target.apiPrefix}${ORDER_PATH}`;
  const response = await httpRequest(url, { headers: target.headers });
  if (response.status !== 200 || response.body.length !== ORDER_BYTES) {
    throw new Error(
      `${target.name}: GET ${url} answered ${response.status} (${response.body.length} bytes), not 200 with ${ORDER_BYTES}: ${response.body.toString().slice(0, 300)}`,
    );
  }
}
