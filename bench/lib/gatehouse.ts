/**
 * Gatehouse under test: the real CLI (`gatehouse start --config <file>`) in a child process, from
 * the compiled dist (`npm run bench` builds first), with a generated configuration: the given
 * session store, one route per upstream endpoint, log level warn, rate limits off (a load test from
 * one IP and one session is exactly what they exist to stop), everything else at its defaults
 * (metrics on, security checks on).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForHttp } from './net.js';
import { startChild, type Child } from './processes.js';

export const GATEHOUSE_BIN = fileURLToPath(new URL('../../packages/gatehouse/bin/gatehouse.js', import.meta.url));

export type SessionMode = 'memory' | 'cookie' | 'redis';

/**
 * A target's settings from its slot (ports, provider client) and the lab's provider, upstream and
 * Redis; `more` adds or replaces settings.
 */
export function setupFor(
  name: string,
  mode: SessionMode,
  slot: { port: number; adminPort: number; clientId: string; clientSecret: string },
  lab: { idp: { issuer: string }; upstream: { url: string }; redisUrl: string },
  more: Partial<GatehouseSetup> = {},
): GatehouseSetup {
  return {
    name,
    mode,
    port: slot.port,
    adminPort: slot.adminPort,
    issuer: lab.idp.issuer,
    clientId: slot.clientId,
    clientSecret: slot.clientSecret,
    upstream: lab.upstream.url,
    redisUrl: lab.redisUrl,
    keyPrefix: '',
    ...more,
  };
}

export interface GatehouseSetup {
  name: string;
  mode: SessionMode;
  port: number;
  adminPort: number;
  issuer: string;
  clientId: string;
  clientSecret: string;
  upstream: string;
  redisUrl: string;
  keyPrefix: string;
  workers?: number;
  refreshSkew?: string;
  /** More `oidc` settings, over the ones above (lib/profiles.ts); undefined removes one. */
  oidc?: Record<string, unknown>;
  /** More settings for every route, e.g. the token it carries (lib/derived.ts). */
  route?: Record<string, unknown>;
  /** Run under `node --cpu-prof`, writing the profile here when it exits. */
  cpuProfDir?: string;
  /** The origin browsers use, when it is not Gatehouse's own (a gateway in front: lib/gateway.ts). */
  publicUrl?: string;
  /** Gateway mode: the gateway listener on 127.0.0.1 (docs/gateway.md). */
  gateway?: { port: number; secret: string; cacheTtl: string };
  /** The session secrets (default: a new random one per start). */
  secrets?: string[];
  /** More `node` arguments (e.g. `--import` of a preload) and environment for the process. */
  node?: { args: string[]; env: NodeJS.ProcessEnv };
}

export interface RunningGatehouse {
  child: Child;
  origin: string;
  adminUrl: string;
  keyPrefix: string;
  secrets: string[];
}

/** Whether this build's CLI has `start --workers N` (node:cluster). */
export function supportsWorkers(): boolean {
  try {
    return execFileSync(process.execPath, [GATEHOUSE_BIN, '--help'], { encoding: 'utf8' }).includes('--workers');
  } catch {
    return false;
  }
}

export function gatehouseConfig(setup: GatehouseSetup, secrets: string[]): object {
  return {
    publicUrl: setup.publicUrl ?? `http://127.0.0.1:${setup.port}`,
    server: { host: '127.0.0.1', port: setup.port },
    admin: { host: '127.0.0.1', port: setup.adminPort },
    ...(setup.gateway ? { gateway: { enabled: true, host: '127.0.0.1', ...setup.gateway } } : {}),
    log: { level: 'warn' },
    oidc: {
      issuer: setup.issuer,
      clientId: setup.clientId,
      clientSecret: setup.clientSecret,
      allowInsecureHttp: true,
      scopes: ['openid', 'profile', 'email', 'offline_access', 'orders:read'],
      ...(setup.refreshSkew ? { refreshSkew: setup.refreshSkew } : {}),
      ...setup.oidc,
    },
    session: {
      store: setup.mode,
      secrets,
      ...(setup.mode === 'redis' ? { redis: { url: setup.redisUrl, keyPrefix: setup.keyPrefix } } : {}),
    },
    rateLimit: { enabled: false },
    routes: [
      { path: '/orders', upstream: `${setup.upstream}/orders` },
      { path: '/big', upstream: `${setup.upstream}/big`, methods: ['GET'] },
      { path: '/upload', upstream: `${setup.upstream}/upload`, methods: ['POST'] },
    ].map((route) => ({ ...route, ...setup.route })),
  };
}

export async function startGatehouse(dir: string, setup: GatehouseSetup): Promise<RunningGatehouse> {
  const secrets = setup.secrets ?? [randomBytes(32).toString('base64url')];
  const file = join(dir, `gatehouse-${setup.name}.json`);
  writeFileSync(file, JSON.stringify(gatehouseConfig(setup, secrets), null, 2));
  const node = setup.cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', setup.cpuProfDir] : [];
  const workers = setup.workers && setup.workers > 1 ? ['--workers', String(setup.workers)] : [];
  const child = startChild(
    `gatehouse ${setup.name}`,
    process.execPath,
    [...node, ...(setup.node?.args ?? []), GATEHOUSE_BIN, 'start', '--config', file, ...workers],
    { env: setup.node?.env },
  );
  const origin = `http://127.0.0.1:${setup.port}`;
  const adminUrl = `http://127.0.0.1:${setup.adminPort}`;
  // Ready: the store answers and the provider's metadata is loaded; then the public port too.
  await waitForHttp(`${adminUrl}/readyz`, { status: 200, child, timeoutMs: 30_000 });
  await waitForHttp(`${origin}/api/auth/user`, { status: 401, child });
  return { child, origin, adminUrl, keyPrefix: setup.keyPrefix, secrets };
}

/** The samples of a metric on the admin listener: one per label set, e.g. `{ code: "x" } -> 3`. */
export async function metricSamples(
  adminUrl: string,
  name: string,
): Promise<{ labels: Record<string, string>; value: number }[]> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const samples: { labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const match = new RegExp(`^${name}(?:\\{(.*)\\})? (\\S+)$`).exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...(match[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
    samples.push({ labels, value: Number(match[2]) });
  }
  return samples;
}

/** A metric summed over the label sets that match `labels`, grouped by the label `by` when given. */
export async function metric(adminUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const samples = await metricSamples(adminUrl, name);
  return samples
    .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

export async function metricBy(adminUrl: string, name: string, by: string): Promise<Record<string, number>> {
  const totals: Record<string, number> = {};
  for (const s of await metricSamples(adminUrl, name)) {
    const key = s.labels[by] ?? '';
    totals[key] = (totals[key] ?? 0) + s.value;
  }
  return totals;
}
