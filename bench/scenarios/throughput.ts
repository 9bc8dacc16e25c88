/**
 * get1k, stream64k, upload1m: every target under the same load (same upstream, same connections,
 * same duration, one after the other in one run), and each target's throughput as a ratio of the
 * bare Node proxy's measured in that same run.
 */
import { check, fmt, median, table, type Results } from '../lib/report.js';
import { measure, problems, type Measurement, type RequestShape } from '../lib/measure.js';
import { NGINX, nginxAvailable } from '../lib/nginx.js';
import { startTarget, TARGET_INFO, TARGET_NAMES, type Lab, type TargetName } from '../lib/targets.js';
import { BIG_PATH, ORDER_PATH, UPLOAD_BYTES, UPLOAD_PATH } from '../lib/upstream.js';

interface Definition {
  name: 'get1k' | 'stream64k' | 'upload1m';
  title: string;
  shape: RequestShape;
  targets: readonly TargetName[];
}

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
  ratio: number | undefined;
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
  for (let round = 0; round < lab.options.repeat; round++) {
    for (const name of names) {
      process.stdout.write(`${definition.name}: ${name}${lab.options.repeat > 1 ? ` (run ${round + 1})` : ''}...\n`);
      const target = await startTarget(lab, name);
      try {
        if (definition.name === 'upload1m') await lab.upstream.takeUploads(); // forget the probe's
        const m = await measure(lab, target, definition.shape);
        const row: Row = { ...m, ratio: undefined };
        // The warm-up's uploads are in there too: a check of sizes, not of counts.
        if (definition.name === 'upload1m') row.uploads = await lab.upstream.takeUploads();
        runs.get(name)!.push(row);
      } finally {
        await target.stop();
      }
    }
  }
  const rows = names.map((name) => median(runs.get(name)!, (r) => r.rps));
  const baseline = rows.find((r) => r.target === 'node-proxy');
  for (const row of rows) row.ratio = baseline ? row.rps / baseline.rps : undefined;

  table(
    `${definition.name}: ${definition.title}, ${lab.options.connections} connections, ${lab.options.duration} s per target` +
      (lab.options.repeat > 1 ? ` (median of ${lab.options.repeat} runs)` : ''),
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
    check(
      results,
      'get1k',
      `${name} throughput vs express-oidc`,
      '>= 10x',
      `${fmt.ratio(r.rps / peer.rps)} (${fmt.rps(r.rps)} vs ${fmt.rps(peer.rps)} req/s)`,
      r.rps >= 10 * peer.rps,
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
