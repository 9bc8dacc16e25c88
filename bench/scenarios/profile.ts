/**
 * profile (--profile): where the time goes under the get1k load, for Gatehouse (memory and redis
 * modes) and, for comparison, the bare Node proxy. Each runs under `node --cpu-prof`; the profiles (written
 * when they exit) land in bench/results/ next to the JSON, and are summarised: top functions by
 * self time, self time by package, Gatehouse's functions by inclusive time. The profiler slows the
 * processes down, so these req/s are not part of any comparison. The profile covers the whole
 * process life: start-up and sign-in are in it, a few percent of the samples.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { summarizeProfile } from '../lib/cpuprofile.js';
import { measure, problems } from '../lib/measure.js';
import { fmt, table, type Results } from '../lib/report.js';
import { startTarget, type Lab, type TargetName } from '../lib/targets.js';
import { ORDER_PATH } from '../lib/upstream.js';
import { runnable } from './throughput.js';

export async function profile(lab: Lab, results: Results): Promise<void> {
  const profiles: Record<string, unknown> = {};
  for (const name of runnable(
    lab,
    ['node-proxy', 'gh-memory', 'gh-cookie', 'gh-redis', 'gh-dpop'] as TargetName[],
    results,
    'profile',
  )) {
    const dir = resolve(lab.options.resultsDir, `${results.startedAt.replace(/[:.]/g, '-')}-profile-${name}`);
    mkdirSync(dir, { recursive: true });
    process.stdout.write(`profile: ${name}...\n`);
    const target = await startTarget(lab, name, { cpuProfDir: dir });
    let m;
    try {
      m = await measure(lab, target, { path: ORDER_PATH });
    } finally {
      await target.stop(); // the profile is written as the process exits
    }
    const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
    if (!file) throw new Error(`no .cpuprofile in ${dir}: did ${name} exit cleanly?`);
    const summary = summarizeProfile(join(dir, file), 20);
    const seconds = (summary.totalMs / 1000).toFixed(1);
    process.stdout.write(`profile: ${name}: ${fmt.rps(m.rps)} req/s under the profiler ${problems(m)}\n`);
    const rows = (list: typeof summary.self) =>
      list.map((t) => [t.ms.toFixed(0), `${(t.share * 100).toFixed(1)}%`, t.name]);
    table(
      `profile: ${name}, top 20 functions by self time (${seconds} s sampled)`,
      ['ms', 'share', 'function'],
      rows(summary.self),
    );
    table(`profile: ${name}, self time by package`, ['ms', 'share', 'package'], rows(summary.byPackage.slice(0, 12)));
    if (summary.gatehouseInclusive.length > 0) {
      table(
        `profile: ${name}, Gatehouse functions by inclusive time`,
        ['ms', 'share', 'function'],
        rows(summary.gatehouseInclusive.slice(0, 15)),
      );
    }
    profiles[name] = { file: join(dir, file), measurement: m, ...summary };
  }
  results.scenarios.profile = profiles;
}
