/**
 * expiry: an expiry storm. N sessions sign in within a few seconds against a provider that issues
 * short-lived access tokens (default 2 s) and rotates refresh tokens with reuse detection (a
 * refresh token presented twice revokes the whole grant, so a duplicate refresh would end the
 * session and fail its requests). Gatehouse (redis mode, `oidc.refreshSkew: 0s`: refresh only once
 * expired) is then loaded across all sessions at once (the load generator rotates their cookies),
 * for several token lifetimes, so every session's token expires mid-load, again and again.
 *
 * What is counted, per session (= per provider grant: each sign-in of a fresh browser is one):
 * the times its tokens were issued (the sign-in, then each refresh-token grant), from the
 * provider's own events. One refresh per expiry window means: no refresh came before the previous
 * token had expired ("early": a second refresh in the same window), none was skipped while the load
 * ran ("missed": an expired token still current a whole token lifetime later), and the provider
 * refused none. Plus: no request failed.
 *
 * Variants: the upstream ignores tokens (nginx: measures the refresh coordination alone); the
 * upstream verifies them (the demo orders API: a token past its `exp` is refused, which also
 * proves no request went out with a dead token); and with --workers 2, two processes sharing the
 * sessions, which must coordinate through the Redis lock.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { metric, metricBy, startGatehouse } from '../lib/gatehouse.js';
import { startIdp, type BenchIdp } from '../lib/idp.js';
import { runLoad, type LoadResult } from '../lib/load.js';
import { signInMany } from '../lib/login.js';
import { problems } from '../lib/measure.js';
import { freePort, waitForHttp } from '../lib/net.js';
import { onCleanup, startChild, type Child } from '../lib/processes.js';
import { deleteKeys } from '../lib/redis.js';
import { check, fmt, table, type Results } from '../lib/report.js';
import { keyPrefix, type Lab } from '../lib/targets.js';
import { ORDER_PATH } from '../lib/upstream.js';
import { runnable } from './throughput.js';

interface Variant {
  label: string;
  workers: number;
  verifying: boolean;
}

/** Refreshes wait for the provider, which is busy too: only a whole lifetime without one is a missed window. */
const missedAfter = (ttlMs: number) => ttlMs;
/** `exp` has one-second resolution: a verifying upstream may refuse a token up to this much before expires_in runs out. */
const EXP_RESOLUTION_MS = 1_000;
const CLIENT_ID = 'bench-expiry';

export async function expiry(lab: Lab, results: Results): Promise<void> {
  if (runnable(lab, ['gh-redis'], results, 'expiry').length === 0) return;
  const ttl = lab.options.expiryTtl;
  const variants: Variant[] = [
    { label: '1 process, upstream ignores tokens', workers: 1, verifying: false },
    { label: '1 process, upstream verifies tokens', workers: 1, verifying: true },
  ];
  if (lab.workers) variants.push({ label: '--workers 2, upstream ignores tokens', workers: 2, verifying: false });

  const port = await freePort();
  const adminPort = await freePort();
  const clientSecret = randomBytes(24).toString('base64url');
  const idp = await startIdp({
    clients: [{ clientId: CLIENT_ID, clientSecret, redirectUris: [`http://127.0.0.1:${port}/api/auth/callback`] }],
    accessTokenTtlSeconds: ttl,
    rotateRefreshTokens: true,
  });
  let api: { child: Child; url: string } | undefined;
  const rows: Storm[] = [];
  try {
    for (const [i, variant] of variants.entries()) {
      let upstream = lab.upstream.url;
      let path = ORDER_PATH;
      if (variant.verifying) {
        api ??= await startOrdersApi(idp);
        upstream = api.url;
        path = '/orders/1001'; // one of alice's orders
      }
      process.stdout.write(`expiry: ${variant.label}: signing in ${lab.options.expirySessions} sessions...\n`);
      const setup = { port, adminPort, clientSecret, upstream, path, prefix: keyPrefix(lab, `expiry-${i}`) };
      rows.push(await storm(lab, idp, variant, setup));
    }
  } finally {
    await api?.child.stop();
    await idp.close();
  }

  table(
    `expiry: ${lab.options.expirySessions} sessions, access tokens live ${ttl} s, rotation with reuse detection, refreshSkew 0s, Redis store`,
    [
      'variant',
      'load s',
      'req/s',
      'p99 ms',
      'failed req',
      'refreshes',
      'per session',
      'early',
      'missed',
      'refused',
      'GH refreshes',
      'GH error answers',
    ],
    rows.map((r) => [
      r.variant.label,
      r.load.seconds.toFixed(0),
      fmt.rps(r.load.rps),
      fmt.ms(r.load.p99Ms),
      String(r.load.non2xx + r.load.errors),
      String(r.refreshes),
      `${r.perSession.min}-${r.perSession.max}`,
      String(r.early),
      String(r.missed),
      String(r.refused),
      String(r.metricSuccess),
      codes(r.errorCodes),
    ]),
  );
  results.scenarios.expiry = { ttlSeconds: ttl, sessions: lab.options.expirySessions, rows };
  for (const r of rows) {
    check(
      results,
      'expiry',
      `${r.variant.label}: one refresh grant per session per expiry window`,
      '0 early, 0 missed, 0 refused, every session refreshed',
      `${r.refreshes} grants for ${r.sessions} sessions (${r.perSession.min}-${r.perSession.max} each), ` +
        `${r.early} early, ${r.missed} missed, ${r.refused} refused${r.stray ? `, ${r.stray} of unknown sessions` : ''}`,
      r.early === 0 && r.missed === 0 && r.refused === 0 && r.stray === 0 && r.perSession.min >= 1,
    );
    check(
      results,
      'expiry',
      `${r.variant.label}: no failed request`,
      '0',
      problems(r.load)
        ? `${problems(r.load)} of ${r.load.requests.toLocaleString('en-US')}; Gatehouse answered ${codes(r.errorCodes)}`
        : `0 of ${r.load.requests.toLocaleString('en-US')}`,
      r.load.non2xx + r.load.errors === 0,
    );
  }
}

/** Counter increases since `before`, zeros left out. */
function increase(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([k, v]) => [k, v - (before[k] ?? 0)] as const)
      .filter(([, v]) => v > 0),
  );
}

const codes = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([code, n]) => `${code} ${n}`)
    .join(', ') || '-';

async function startOrdersApi(idp: BenchIdp): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  const script = fileURLToPath(new URL('../peers/orders-api.ts', import.meta.url));
  const child = startChild('orders api', process.execPath, ['--import', 'tsx', script], {
    env: { ISSUER: idp.issuer, AUDIENCE: idp.demo.apiResource, PORT: String(port) },
  });
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/orders`, { status: 401, child });
  return { child, url };
}

interface Storm {
  variant: Variant;
  sessions: number;
  load: LoadResult;
  refreshes: number;
  perSession: { min: number; max: number };
  early: number;
  missed: number;
  refused: number;
  refusals: string[];
  stray: number;
  metricSuccess: number;
  /** Gatehouse's own counts: refreshes by outcome, error answers by code. */
  refreshOutcomes: Record<string, number>;
  errorCodes: Record<string, number>;
}

async function storm(
  lab: Lab,
  idp: BenchIdp,
  variant: Variant,
  setup: { port: number; adminPort: number; clientSecret: string; upstream: string; path: string; prefix: string },
): Promise<Storm> {
  const forget = onCleanup(async () => void (await deleteKeys(lab.redisUrl, setup.prefix)));
  const gatehouse = await startGatehouse(lab.dir, {
    name: `expiry-${setup.prefix}`,
    mode: 'redis',
    workers: variant.workers,
    port: setup.port,
    adminPort: setup.adminPort,
    issuer: idp.issuer,
    clientId: CLIENT_ID,
    clientSecret: setup.clientSecret,
    upstream: setup.upstream,
    redisUrl: lab.redisUrl,
    keyPrefix: setup.prefix,
    refreshSkew: '0s',
  });
  try {
    const since = Date.now();
    const signedIn = await signInMany(
      { origin: gatehouse.origin, loginPath: '/api/auth/login', callbackPath: '/api/auth/callback' },
      lab.options.expirySessions,
      8,
    );
    const ttlMs = lab.options.expiryTtl * 1000;
    const seconds = Math.max(lab.options.duration, 5 * lab.options.expiryTtl);
    process.stdout.write(`expiry: ${variant.label}: ${seconds} s of load across all sessions...\n`);
    const errorsBefore = await metricBy(gatehouse.adminUrl, 'gatehouse_errors_total', 'code');
    const loadStart = Date.now();
    const load = await runLoad(
      lab.loadTool,
      {
        url: `${gatehouse.origin}/api${setup.path}`,
        seconds,
        connections: lab.options.connections,
        headers: { 'x-csrf': '1' },
        cookies: signedIn.map((s) => s.cookie),
      },
      lab.dir,
    );
    const loadEnd = loadStart + load.seconds * 1000;
    // A refresh under way when the load generator stopped still completes: wait for it, so that
    // the provider's grants and Gatehouse's own count cover the same refreshes.
    await sleep(1000);

    const issued = new Map<string, number[]>();
    let stray = 0;
    const refusals: string[] = [];
    const events = idp.events.filter((e) => e.clientId === CLIENT_ID && e.at >= since);
    for (const e of events) {
      if (e.type === 'authorization_code' && e.ok && e.grantId) issued.set(e.grantId, [e.at]);
    }
    for (const e of events) {
      if (e.type !== 'refresh_token') continue;
      if (!e.ok) refusals.push(e.error ?? 'refused');
      else if (e.grantId && issued.has(e.grantId)) issued.get(e.grantId)!.push(e.at);
      else stray++;
    }
    let early = 0;
    let missed = 0;
    const counts: number[] = [];
    for (const times of issued.values()) {
      counts.push(times.length - 1);
      for (let k = 0; k < times.length; k++) {
        const expiresAt = times[k]! + ttlMs;
        const next = times[k + 1];
        if (next !== undefined && next - times[k]! < ttlMs - EXP_RESOLUTION_MS) early++;
        // An expiry during the load (or before it) must be followed by a refresh soon after the load reaches it.
        const due = Math.max(expiresAt, loadStart);
        if (due < loadEnd - missedAfter(ttlMs) && (next ?? Infinity) - due > missedAfter(ttlMs)) missed++;
      }
    }
    return {
      variant,
      sessions: issued.size,
      load,
      refreshes: counts.reduce((a, b) => a + b, 0),
      perSession: { min: Math.min(...counts), max: Math.max(...counts) },
      early,
      missed,
      refused: refusals.length,
      refusals: [...new Set(refusals)],
      stray,
      metricSuccess: await metric(gatehouse.adminUrl, 'gatehouse_token_refreshes_total', { outcome: 'success' }),
      refreshOutcomes: await metricBy(gatehouse.adminUrl, 'gatehouse_token_refreshes_total', 'outcome'),
      errorCodes: increase(await metricBy(gatehouse.adminUrl, 'gatehouse_errors_total', 'code'), errorsBefore),
    };
  } finally {
    await gatehouse.child.stop();
    await deleteKeys(lab.redisUrl, setup.prefix);
    forget();
  }
}
