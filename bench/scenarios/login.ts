/**
 * login: whole sign-ins per second through Gatehouse, by a few browsers at once, each sign-in a
 * fresh browser: Gatehouse's login start (redirect to the provider), the provider's pages and form
 * post, and Gatehouse's callback (code redemption, ID token checks, session creation).
 *
 * The provider and the browsers run in the runner's process, so this measures the whole system,
 * whose slowest part is usually the provider (it signs two JWTs per sign-in). Reported apart: the
 * time spent waiting for Gatehouse's two steps (which includes its own call to the provider's
 * token endpoint), and Gatehouse's CPU time per sign-in, which does not depend on the provider.
 */
import { cpuSnapshot, cpuUse } from '../lib/cpu.js';
import { signIn } from '../lib/login.js';
import { check, fmt, percentile, table, type Results } from '../lib/report.js';
import { startTarget, type Lab, type RunningTarget } from '../lib/targets.js';
import { runnable } from './throughput.js';

interface LoginRun {
  target: string;
  seconds: number;
  logins: number;
  perSecond: number;
  totalMs: { p50: number; p99: number };
  gatehouseMs: { p50: number; p99: number };
  failures: number;
  firstFailure?: string;
  cpu: { target: number; runner: number };
}

async function loop(target: RunningTarget, users: number, seconds: number) {
  const deadline = Date.now() + seconds * 1000;
  const total: number[] = [];
  const app: number[] = [];
  let failures = 0;
  let firstFailure: string | undefined;
  await Promise.all(
    Array.from({ length: users }, async () => {
      while (Date.now() < deadline) {
        try {
          const done = await signIn(target.signIn!);
          total.push(done.totalMs);
          app.push(done.appMs);
        } catch (error) {
          failures++;
          firstFailure ??= (error as Error).message;
        }
      }
    }),
  );
  return { total, app, failures, firstFailure };
}

export async function loginRate(lab: Lab, results: Results): Promise<void> {
  const runs: LoginRun[] = [];
  for (const name of runnable(lab, ['gh-memory', 'gh-redis'], results, 'login')) {
    process.stdout.write(`login: ${name}...\n`);
    const target = await startTarget(lab, name);
    try {
      if (lab.options.warmup > 0) await loop(target, lab.options.loginUsers, lab.options.warmup);
      const before = cpuSnapshot();
      const runnerBefore = process.cpuUsage();
      const started = Date.now();
      const { total, app, failures, firstFailure } = await loop(target, lab.options.loginUsers, lab.options.duration);
      const seconds = (Date.now() - started) / 1000;
      const runner = process.cpuUsage(runnerBefore);
      const cpu = cpuUse(before, cpuSnapshot(), { target: target.pids, upstream: [] });
      runs.push({
        target: name,
        seconds,
        logins: total.length,
        perSecond: total.length / seconds,
        totalMs: { p50: percentile(total, 50), p99: percentile(total, 99) },
        gatehouseMs: { p50: percentile(app, 50), p99: percentile(app, 99) },
        failures,
        firstFailure,
        cpu: { target: cpu.target, runner: Math.round((runner.user + runner.system) / 10_000 / seconds) },
      });
    } finally {
      await target.stop();
    }
  }
  if (runs.length === 0) return;
  table(
    `login: complete sign-ins by ${lab.options.loginUsers} concurrent browsers, ${lab.options.duration} s`,
    [
      'target',
      'logins/s',
      'p50 ms',
      'p99 ms',
      'at Gatehouse p50',
      'p99',
      'Gatehouse CPU',
      'CPU ms/login',
      'IdP+browsers CPU',
      'failed',
    ],
    runs.map((r) => [
      r.target,
      r.perSecond.toFixed(1),
      fmt.ms(r.totalMs.p50),
      fmt.ms(r.totalMs.p99),
      fmt.ms(r.gatehouseMs.p50),
      fmt.ms(r.gatehouseMs.p99),
      fmt.pct(r.cpu.target),
      fmt.ms((r.cpu.target * 10) / r.perSecond),
      fmt.pct(r.cpu.runner),
      String(r.failures),
    ]),
  );
  results.scenarios.login = { users: lab.options.loginUsers, runs };
  for (const r of runs) {
    check(
      results,
      'login',
      `${r.target}: every sign-in completed`,
      '0 failed',
      `${r.failures} failed of ${r.logins + r.failures}${r.firstFailure ? ` (${r.firstFailure.slice(0, 120)})` : ''}`,
      r.failures === 0,
    );
  }
}
