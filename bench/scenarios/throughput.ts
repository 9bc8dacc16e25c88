/**
 * get1k, stream64k, upload1m: every target under the same load (same upstream, same connections,
 * same duration, one after the other in one run), and each target's throughput as a ratio of the
 * bare Node proxy's measured in that same run.
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
  name: 'get1k' | 'stream64k' | 'upload1m';
  title: string;
  shape: RequestShape;
  targets: readonly TargetName[];
}

/**
 * Load before each measured run, not counted. A target idle while the others were measured has
 * given memory back (V8 shrinks an idle heap); when load returns it runs several full collections
 * within the first seconds while the heap grows again (seen with --trace-gc: ten in four seconds of
 * 64 KiB streaming after 30 s idle). node-proxy, measured between any two others, idles less than
 * anyone: without this, that regrowth would count against the others only.
 */
const RUN_WARMUP_SECONDS = 5;

const GATEHOUSE: TargetName[] = ['gh-memory', 'gh-cookie', 'gh-redis', 'gh-redis-w2'];

export const DEFINITIONS: Record<Definition['name'], Definition> = {
  get1k: { name: 'get1k', title: 'GET 1 KiB JSON', shape: { path: ORDER_PATH }, targets: TARGET_NAMES },
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
  /** Median over the rounds of this target's throughput divided by node-proxy's just before and after. */
  ratio: number | undefined;
  /** Those ratios, one per round. */
  ratios?: number[];
  /** Upload runs: what the upstream received. */
  uploads?: { count: number; minBytes: number };
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
          : name === 'nginx' && !nginxAvailable()
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
  /** Each run's throughput over node-proxy's in the runs just before and after it. */
  const ratios = new Map<TargetName, number[]>(names.map((n) => [n, []]));
  // Every target is started and warmed up once and stays up; then they are measured in rounds, one
  // at a time, with node-proxy measured again between any two others. This host's speed drifts by
  // 20% and more within a minute, so a ratio only means something between runs taken seconds apart:
  // each run is compared with the baseline runs right before and after it (bench/README.md).
  const started = new Map<TargetName, RunningTarget>();
  const run = async (name: TargetName, round: number): Promise<Row> => {
    process.stdout.write(`${definition.name}: ${name}${lab.options.repeat > 1 ? ` (round ${round + 1})` : ''}...\n`);
    const target = started.get(name)!;
    await freshSession(target);
    if (definition.name === 'upload1m') await lab.upstream.takeUploads(); // forget the earlier ones
    const m = await measure(lab, target, definition.shape, {
      warmup: Math.min(RUN_WARMUP_SECONDS, lab.options.warmup),
    });
    const row: Row = { ...m, ratio: undefined };
    // The short warm-up's uploads are in there too: a check of sizes, not of counts.
    if (definition.name === 'upload1m') row.uploads = await lab.upstream.takeUploads();
    runs.get(name)!.push(row);
    return row;
  };
  try {
    for (const name of names) {
      process.stdout.write(`${definition.name}: starting and warming up ${name}...\n`);
      const target = await startTarget(lab, name);
      started.set(name, target);
      // In three parts, each with a new session: the JIT settles on code that has seen several
      // sessions, as it does under real traffic.
      const seconds = Math.max(1, Math.round(lab.options.warmup / 3));
      for (let part = 0; part < 3; part++) {
        await freshSession(target);
        await measure(lab, target, definition.shape, { seconds, warmup: 0 });
      }
    }
    const baseline = names.includes('node-proxy') ? 'node-proxy' : undefined;
    const others = names.filter((n) => n !== baseline);
    for (let round = 0; round < lab.options.repeat; round++) {
      // A different order every round: no target always runs at the same point of a round.
      const order = others.map((_, i) => others[(i + round) % others.length]!);
      let before = baseline && (await run(baseline, round));
      for (const name of order) {
        const row = await run(name, round);
        if (!baseline || !before) continue;
        const after = await run(baseline, round);
        ratios.get(name)!.push(row.rps / ((before.rps + after.rps) / 2));
        before = after;
      }
    }
  } finally {
    for (const target of started.values()) await target.stop();
  }
  const rows = names.map((name) => median(runs.get(name)!, (r) => r.rps));
  for (const row of rows) {
    const list = ratios.get(row.target as TargetName)!;
    row.ratio = row.target === 'node-proxy' ? 1 : list.length > 0 ? median(list, (r) => r) : undefined;
    row.ratios = list;
  }

  table(
    `${definition.name}: ${definition.title}, ${lab.options.connections} connections, ${lab.options.duration} s per target` +
      (lab.options.repeat > 1
        ? ` (median of ${lab.options.repeat} rounds; ratio: median of each run vs the node-proxy runs around it)`
        : ''),
    [
      'target',
      'req/s',
      'p50 ms',
      'p99 ms',
      'vs node-proxy',
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
      fmt.pct(r.cpu.target),
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

/** The issue's targets for the plain GET, from one run's ratios. */
export function get1kChecks(results: Results, rows: Row[]): void {
  const row = (name: TargetName) => rows.find((r) => r.target === name);
  const baseline = row('node-proxy');
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
  const peer = row('express-oidc');
  if (!peer) return;
  for (const name of ['gh-memory', 'gh-cookie', 'gh-redis'] as const) {
    const r = row(name);
    if (!r) continue;
    // Both against the node-proxy runs around them: the drift between their own runs cancels out.
    const ratio = r.ratio !== undefined && peer.ratio !== undefined ? r.ratio / peer.ratio : r.rps / peer.rps;
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
 * Gatehouse targets sign in again before each measured run. Cookie mode re-issues its cookie once
 * a minute as the session's activity is recorded; a browser takes the new one, the load generator
 * cannot, and from then on every request would re-seal a cookie no browser would still be sending.
 */
async function freshSession(target: RunningTarget): Promise<void> {
  if (!target.gatehouse || !target.signIn) return;
  const { cookie } = await signIn(target.signIn);
  target.headers = { ...target.headers, cookie };
}
