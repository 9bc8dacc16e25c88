/**
 * get1k, stream64k, upload1m: every target under the same load (same upstream, same connections,
 * same duration, one after the other in one run), and each target's throughput as a ratio of the
 * bare Node proxy's measured in that same run. tokens1k: the get1k load on the targets that send
 * other tokens than the session's Bearer token, each as a ratio of gh-memory's. gateway1k: gateway
 * mode (gw-nginx) as a ratio of the plain nginx proxy's.
 */
import { check, fmt, median, table, type Results } from '../lib/report.js';
import { measure, problems, type Measurement, type RequestShape } from '../lib/measure.js';
import { NGINX, nginxAvailable } from '../lib/nginx.js';
import { signIn } from '../lib/login.js';
import {
  startTarget,
  TARGET_INFO,
  TARGET_NAMES,
  type Lab,
  type RunningTarget,
  type TargetName,
} from '../lib/targets.js';
import { BIG_PATH, ORDER_PATH, UPLOAD_BYTES, UPLOAD_PATH } from '../lib/upstream.js';

interface Definition {
  name: 'get1k' | 'gateway1k' | 'stream64k' | 'upload1m' | 'tokens1k' | 'edge';
  title: string;
  shape: RequestShape;
  targets: readonly TargetName[];
  /** What every other target's slices alternate with, and are a ratio of (default node-proxy). */
  baseline?: TargetName;
  /** At most this many slices per target unless --repeat says otherwise (a scenario kept to about a minute). */
  repeat?: number;
}

const GATEHOUSE: TargetName[] = ['gh-memory', 'gh-cookie', 'gh-redis', 'gh-redis-w2'];

/** Targets that send other tokens than the session's Bearer token: compared with gh-memory directly, in tokens1k. */
const DPOP: TargetName[] = ['gh-dpop', 'gh-fapi2'];
const PER_API: TargetName[] = ['gh-exchange', 'gh-resource'];
const OTHER_TOKENS = [...DPOP, ...PER_API];
/** Gatehouse on the other runtimes: measured in edge (workerd) and coldstart (Lambda), not in get1k. */
const OTHER_RUNTIMES: TargetName[] = ['gh-workerd', 'gh-lambda'];

export const DEFINITIONS: Record<Definition['name'], Definition> = {
  get1k: {
    name: 'get1k',
    title: 'GET 1 KiB JSON',
    shape: { path: ORDER_PATH },
    targets: TARGET_NAMES.filter((name) => !OTHER_TOKENS.includes(name) && !OTHER_RUNTIMES.includes(name)),
  },
  edge: {
    name: 'edge',
    title: 'GET 1 KiB JSON, Gatehouse as a Worker in workerd against Gatehouse on Node, slice by slice',
    shape: { path: ORDER_PATH },
    targets: ['gh-memory', 'gh-workerd'],
    baseline: 'gh-memory',
    // The two are far apart and each slice's ratio moves by a few hundredths only: 8 slices (about
    // a minute in all, with the warm-ups) say as much as 16 (bench/README.md, edge).
    repeat: 8,
  },
  gateway1k: {
    name: 'gateway1k',
    title: 'GET 1 KiB JSON through the gateway (gw-nginx) against nginx with no auth, slice by slice',
    shape: { path: ORDER_PATH },
    targets: ['nginx', 'gw-nginx'],
    baseline: 'nginx',
  },
  tokens1k: {
    name: 'tokens1k',
    title:
      "GET 1 KiB JSON with other tokens than the session's Bearer token, each target against gh-memory slice by slice",
    shape: { path: ORDER_PATH },
    targets: ['gh-memory', ...OTHER_TOKENS],
    baseline: 'gh-memory',
  },
  stream64k: {
    name: 'stream64k',
    title: 'GET 64 KiB JSON (streamed)',
    shape: { path: BIG_PATH },
    targets: ['direct', 'nginx', 'node-proxy', ...GATEHOUSE],
  },
  upload1m: {
    name: 'upload1m',
    title: 'POST 1 MiB body',
    shape: { path: UPLOAD_PATH, method: 'POST', bodyBytes: UPLOAD_BYTES },
    targets: ['direct', 'nginx', 'node-proxy', ...GATEHOUSE],
  },
};

export interface Row extends Measurement {
  /** Median over the slices of this target's throughput divided by node-proxy's just before and after. */
  ratio: number | undefined;
  /** Those ratios, one per slice. */
  ratios?: number[];
  /** Upload runs: what the upstream received. */
  uploads?: { count: number; minBytes: number };
  /** gw-nginx, over all its measured slices: forward-auth calls that reached Gatehouse, and requests served. */
  auth?: { calls: number; requests: number; perSlice: number[] };
}

/** The targets this run can and should measure, with the reason for each one left out. */
export function runnable(lab: Lab, names: readonly TargetName[], results: Results, scenario: string): TargetName[] {
  return names.filter((name) => {
    if (lab.options.only && !lab.options.only.includes(name)) return false;
    const why =
      name.startsWith('gh-redis') && !lab.redisAvailable
        ? `Redis at ${lab.redisUrl} is not reachable`
        : name === 'gh-redis-w2' && !lab.workers
          ? 'this build of gatehouse has no --workers'
          : (name === 'nginx' || name === 'gw-nginx') && !nginxAvailable()
            ? `nginx is not installed (${NGINX})`
            : undefined;
    if (why) results.notes.push(`${scenario}: ${name} skipped: ${why}`);
    if (why) process.stdout.write(`(${scenario}: ${name} skipped: ${why})\n`);
    return !why;
  });
}

export async function throughput(lab: Lab, results: Results, definition: Definition): Promise<Row[]> {
  const names = runnable(lab, definition.targets, results, definition.name);
  const runs = new Map<TargetName, Row[]>(names.map((n) => [n, []]));
  /** Each slice's throughput over node-proxy's in the slices just before and after it. */
  const ratios = new Map<TargetName, number[]>(names.map((n) => [n, []]));
  const { slice } = lab.options;
  const repeat =
    definition.repeat && !lab.options.repeatGiven
      ? Math.min(definition.repeat, lab.options.repeat)
      : lab.options.repeat;
  /** One load of `seconds` on a target, with no warm-up of its own. */
  const load = (target: RunningTarget, seconds: number) =>
    measure(lab, target, definition.shape, { seconds, warmup: 0 });
  const run = async (target: RunningTarget): Promise<Row> => {
    if (definition.name === 'upload1m') await lab.upstream.takeUploads(); // forget the earlier ones
    const row: Row = { ...(await load(target, slice)), ratio: undefined };
    if (definition.name === 'upload1m') row.uploads = await lab.upstream.takeUploads();
    runs.get(target.name as TargetName)!.push(row);
    return row;
  };
  const wanted = definition.baseline ?? 'node-proxy';
  const baseline = names.includes(wanted) ? wanted : undefined;

  /**
   * Starts fresh processes in this order, warms them up taking turns, then measures `subject` in
   * slices that alternate with the baseline's: baseline, subject, baseline, subject, ... This
   * host's speed drifts by 20% and more within a minute, so a ratio only means something between
   * runs taken seconds apart (bench/README.md, "Ratios from neighbouring slices").
   */
  const block = async (order: TargetName[], subject: TargetName, slices: number) => {
    const started: RunningTarget[] = [];
    try {
      for (const name of order) started.push(await startTarget(lab, name));
      // In three parts, each with a new session: the JIT settles on code that has seen several
      // sessions, as it does under real traffic. Taking turns, so that neither has been idle long
      // when the slices start (V8 gives an idle heap back and regrows it under load).
      const seconds = Math.max(1, Math.round(lab.options.warmup / 3));
      for (let part = 0; part < 3; part++) {
        for (const target of started) {
          await freshSession(target);
          await load(target, seconds);
        }
      }
      const target = started.find((t) => t.name === subject)!;
      // A token per API: each session obtained it once, on its first call (throws otherwise).
      target.verifyTokens?.();
      const base = subject === baseline ? undefined : started.find((t) => t.name === baseline);
      let before = base && (await run(base));
      for (let i = 0; i < slices; i++) {
        await freshSession(target, COOKIE_RESEAL_MS / 2);
        const row = await run(target);
        if (!base || !before) continue;
        const after = await run(base);
        ratios.get(subject)!.push(row.rps / ((before.rps + after.rps) / 2));
        before = after;
      }
      // ... and never again while measured: it was cached.
      const seen = target.verifyTokens?.();
      if (seen) process.stdout.write(`${definition.name}: ${subject}: one token for the API per session: ${seen}\n`);
    } finally {
      for (const target of started) await target.stop();
    }
  };

  const subjects = names.filter((n) => n !== baseline);
  if (subjects.length === 0 && baseline) await block([baseline], baseline, repeat);
  for (const name of subjects) {
    process.stdout.write(`${definition.name}: ${name}, ${repeat} slice(s) of ${slice} s...\n`);
    if (!baseline) {
      await block([name], name, repeat);
      continue;
    }
    // Two pairs of fresh processes, half the slices each, the second pair started in the other
    // order: of identical processes, the one started first was the fastest more often than chance
    // (bench/README.md, "Identical processes"), and the baseline must not be the one that always is.
    await block([baseline, name], name, Math.ceil(repeat / 2));
    if (repeat > 1) await block([name, baseline], name, Math.floor(repeat / 2));
  }
  const rows = names.map((name) => median(runs.get(name)!, (r) => r.rps));
  for (const row of rows) {
    const list = ratios.get(row.target as TargetName)!;
    row.ratio = row.target === baseline ? 1 : list.length > 0 ? median(list, (r) => r) : undefined;
    row.ratios = list;
    const slices = runs.get(row.target as TargetName)!;
    if (row.authCalls !== undefined) {
      const sum = (f: (m: Row) => number) => slices.reduce((total, m) => total + f(m), 0);
      row.auth = {
        calls: sum((m) => m.authCalls!),
        requests: sum((m) => m.requests),
        perSlice: slices.map((m) => m.authCalls!),
      };
    }
  }

  table(
    `${definition.name}: ${definition.title}, ${lab.options.connections} connections, ${repeat} slice(s) of ${slice} s per target ` +
      `(req/s, p50, p99: the median slice; ratio: median of each slice vs the ${wanted} slices around it)`,
    [
      'target',
      'req/s',
      'p50 ms',
      'p99 ms',
      `vs ${wanted}`,
      'target CPU',
      'upstream CPU',
      'loadgen CPU',
      'others CPU',
      'problems',
    ],
    rows.map((r) => [
      r.target,
      fmt.rps(r.rps),
      fmt.ms(r.p50Ms),
      fmt.ms(r.p99Ms),
      fmt.ratio(r.ratio),
      targetCpu(r),
      fmt.pct(r.cpu.upstream),
      fmt.pct(r.loadgenCpu),
      fmt.pct(r.cpu.others),
      [problems(r), uploadProblem(r), busy(r)].filter(Boolean).join('; '),
    ]),
  );
  results.scenarios[definition.name] = {
    title: definition.title,
    targets: Object.fromEntries(names.map((n) => [n, TARGET_INFO[n]])),
    rows,
    runs: Object.fromEntries(runs),
  };
  for (const row of rows) {
    const trouble = [problems(row), uploadProblem(row)].filter(Boolean).join('; ');
    if (trouble) check(results, definition.name, `${row.target} served every request`, 'no failures', trouble, false);
  }
  return rows;
}

/** The target's CPU, and for a target of several programs each one's: where its time goes. */
function targetCpu(m: Measurement): string {
  const parts = Object.entries(m.cpu.parts ?? {}).map(([name, pct]) => `${name} ${fmt.pct(pct)}`);
  return parts.length ? `${fmt.pct(m.cpu.target)} (${parts.join(', ')})` : fmt.pct(m.cpu.target);
}

/** Other processes took a real share of the machine during this run: its numbers are suspect. */
export function busy(m: Measurement): string {
  return m.cpu.others > 20 ? `! other processes used ${Math.round(m.cpu.others)}% of a core` : '';
}

function uploadProblem(row: Row): string {
  if (!row.uploads) return '';
  if (row.uploads.count === 0) return '!! the upstream received no upload';
  if (row.uploads.minBytes < UPLOAD_BYTES)
    return `!! an upload reached the upstream with ${row.uploads.minBytes} bytes`;
  return '';
}

/** The targets for the plain GET, from one run's ratios. */
export function get1kChecks(results: Results, rows: Row[]): void {
  const row = (name: TargetName) => rows.find((r) => r.target === name);
  const baseline = row('node-proxy');
  const twin = row('node-proxy-twin');
  if (twin?.ratio !== undefined) {
    const note =
      `get1k: node-proxy-twin, the same code as node-proxy in another process, measured ${fmt.ratio(twin.ratio)}: ` +
      'what this run reports for no difference at all (1.00x without noise or bias)';
    results.notes.push(note);
    process.stdout.write(`\n${note}\n`);
  }
  const ratioCheck = (name: TargetName, min: number) => {
    const r = row(name);
    if (!r || !baseline) return;
    check(
      results,
      'get1k',
      `${name} throughput vs node-proxy`,
      `>= ${min}x`,
      `${fmt.ratio(r.ratio)} (${fmt.rps(r.rps)} vs ${fmt.rps(baseline.rps)} req/s)`,
      r.ratio! >= min && !problems(r),
    );
  };
  ratioCheck('gh-redis', 0.9);
  ratioCheck('gh-memory', 0.95);
  ratioCheck('gh-cookie', 0.95);
  ratioCheck('gh-redis-w2', 1.5);
  // Both against the node-proxy runs around them: the drift between their own runs cancels out.
  const versus = (r: Row, other: Row) =>
    r.ratio !== undefined && other.ratio !== undefined ? r.ratio / other.ratio : r.rps / other.rps;
  const peer = row('express-oidc');
  if (!peer) return;
  for (const name of ['gh-memory', 'gh-cookie', 'gh-redis'] as const) {
    const r = row(name);
    if (!r) continue;
    const ratio = versus(r, peer);
    check(
      results,
      'get1k',
      `${name} throughput vs express-oidc`,
      '>= 10x',
      `${fmt.ratio(ratio)} (${fmt.rps(r.rps)} vs ${fmt.rps(peer.rps)} req/s)`,
      ratio >= 10,
    );
    check(
      results,
      'get1k',
      `${name} p99 vs express-oidc`,
      '<= 1/10 of its p99',
      `${fmt.ms(r.p99Ms)} ms vs ${fmt.ms(peer.p99Ms)} ms (${(peer.p99Ms / r.p99Ms).toFixed(1)}x lower)`,
      r.p99Ms * 10 <= peer.p99Ms,
    );
  }
}

/**
 * The issues' targets against the same store's Bearer calls: with a fresh DPoP proof each >= 0.8x;
 * with a token for the API alone, once it is cached in the session, >= 0.95x.
 */
export function tokens1kChecks(results: Results, rows: Row[]): void {
  for (const row of rows.filter((r) => OTHER_TOKENS.includes(r.target as TargetName))) {
    const min = DPOP.includes(row.target as TargetName) ? 0.8 : 0.95;
    check(
      results,
      'tokens1k',
      `${row.target} throughput vs gh-memory (the session's Bearer token)`,
      `>= ${min}x`,
      `${fmt.ratio(row.ratio)} (slices: ${row.ratios?.map((r) => r.toFixed(2)).join(' ')})`,
      row.ratio !== undefined && row.ratio >= min && !problems(row),
    );
  }
}

/**
 * Gatehouse targets sign in again before each warm-up and before a slice whose session is older
 * than `maxAgeMs`. Cookie mode re-issues its cookie once a minute as the session's activity is
 * recorded; a browser takes the new one, the load generator cannot, and from then on every request
 * would re-seal a cookie no browser would still be sending.
 */
async function freshSession(target: RunningTarget, maxAgeMs = 0): Promise<void> {
  if ((!target.gatehouse && !target.runtime) || !target.signIn) return;
  if (Date.now() - (signedInAt.get(target) ?? 0) < maxAgeMs) return;
  const { cookie } = await signIn(target.signIn);
  target.headers = { ...target.headers, cookie };
  signedInAt.set(target, Date.now());
}

/** When each Gatehouse target last signed in (its session cookie's age). */
const signedInAt = new WeakMap<RunningTarget, number>();
/** How often cookie mode re-issues an active session's cookie (at most once a minute: session-manager.ts). */
const COOKIE_RESEAL_MS = 60_000;
