/**
 * login: whole sign-ins per second through Gatehouse, by a few browsers at once, each sign-in a
 * fresh browser: Gatehouse's login start (redirect to the provider), the provider's pages and form
 * post, and Gatehouse's callback (code redemption, ID token checks, session creation).
 *
 * The provider and the browsers run in the runner's process, so this measures the whole system,
 * whose slowest part is usually the provider (it signs two JWTs per sign-in). Reported apart: the
 * time spent waiting for Gatehouse's two steps (which includes its own calls to the provider), and
 * Gatehouse's CPU time per sign-in, which does not depend on the provider.
 *
 * The FAPI 2.0 profile (`gh-fapi2`: PAR, private_key_jwt, DPoP with provider nonces, PS256) is
 * measured against the plain one (`gh-memory`, the same store) the way the throughput scenarios
 * measure a target against node-proxy: both processes up, slices that alternate plain, fapi2,
 * plain, ..., each fapi2 slice's rate over the mean of the plain slices around it, the median of
 * those; half the slices with each start order (bench/README.md, "Identical processes").
 */
import { cpuSnapshot, cpuUse } from '../lib/cpu.js';
import { signIn } from '../lib/login.js';
import { describeEvidence, profileEvidence, profileMismatch } from '../lib/profiles.js';
import { check, fmt, median, percentile, table, type Results } from '../lib/report.js';
import { idpOf, startTarget, type Lab, type RunningTarget, type TargetName } from '../lib/targets.js';
import { runnable } from './throughput.js';

const PLAIN = 'gh-memory';
const FAPI2 = 'gh-fapi2';

/** One stretch of sign-ins on one target. */
interface Slice {
  /** Sign-ins per second while the browsers were busy: per browser, its sign-ins over the time to its last one's end. */
  rate: number;
  seconds: number;
  total: number[];
  app: number[];
  failures: number;
  firstFailure?: string;
  /** CPU time in ms: the target's processes, and the runner's (provider and browsers). */
  targetCpuMs: number;
  runnerCpuMs: number;
}

interface LoginRun {
  target: string;
  slices: number;
  seconds: number;
  logins: number;
  /** The median slice's rate. */
  perSecond: number;
  totalMs: { p50: number; p99: number };
  gatehouseMs: { p50: number; p99: number };
  failures: number;
  firstFailure?: string;
  cpu: { target: number; runner: number; targetMsPerLogin: number };
}

/** `users` browsers signing in back to back for `seconds`; the ones under way at the end finish. */
async function loop(target: RunningTarget, users: number, seconds: number): Promise<Slice> {
  const before = cpuSnapshot();
  const runnerBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const slice: Slice = { rate: 0, seconds: 0, total: [], app: [], failures: 0, targetCpuMs: 0, runnerCpuMs: 0 };
  await Promise.all(
    Array.from({ length: users }, async () => {
      let done = 0;
      while (performance.now() < deadline) {
        try {
          const result = await signIn(target.signIn!);
          slice.total.push(result.totalMs);
          slice.app.push(result.appMs);
          done++;
        } catch (error) {
          slice.failures++;
          slice.firstFailure ??= (error as Error).message;
        }
      }
      // Not the wall time: a browser that finished first waits for the others, which is no sign-in's cost.
      slice.rate += done / ((performance.now() - started) / 1000);
    }),
  );
  slice.seconds = (performance.now() - started) / 1000;
  const runner = process.cpuUsage(runnerBefore);
  slice.runnerCpuMs = (runner.user + runner.system) / 1000;
  slice.targetCpuMs = cpuUse(before, cpuSnapshot(), { target: target.pids, upstream: [] }).target * slice.seconds * 10;
  return slice;
}

function summary(target: string, slices: Slice[]): LoginRun {
  const sum = (f: (s: Slice) => number) => slices.reduce((a, s) => a + f(s), 0);
  const seconds = sum((s) => s.seconds);
  const logins = sum((s) => s.total.length);
  const total = slices.flatMap((s) => s.total);
  const app = slices.flatMap((s) => s.app);
  return {
    target,
    slices: slices.length,
    seconds,
    logins,
    perSecond: median(slices, (s) => s.rate).rate,
    totalMs: { p50: percentile(total, 50), p99: percentile(total, 99) },
    gatehouseMs: { p50: percentile(app, 50), p99: percentile(app, 99) },
    failures: sum((s) => s.failures),
    firstFailure: slices.find((s) => s.firstFailure)?.firstFailure,
    cpu: {
      target: Math.round(sum((s) => s.targetCpuMs) / seconds / 10),
      runner: Math.round(sum((s) => s.runnerCpuMs) / seconds / 10),
      targetMsPerLogin: sum((s) => s.targetCpuMs) / logins,
    },
  };
}

export async function loginRate(lab: Lab, results: Results): Promise<void> {
  const names = runnable(lab, [PLAIN, 'gh-redis', FAPI2], results, 'login');
  const { loginUsers: users, warmup, slice, repeat } = lab.options;
  const slices = new Map<string, Slice[]>(names.map((n) => [n, []]));
  /** Each fapi2 slice's rate over the mean of the plain slices just before and after it. */
  const ratios: number[] = [];
  const since = Date.now();

  /** Starts fresh processes in this order, warms them up in turns, then measures. */
  const block = async (order: TargetName[], measure: (started: RunningTarget[]) => Promise<void>) => {
    const started: RunningTarget[] = [];
    try {
      for (const name of order) started.push(await startTarget(lab, name));
      // In turns, as in throughput.ts: neither process has been idle long when the slices start.
      const parts = order.length > 1 ? 3 : 1;
      for (let part = 0; part < parts && warmup > 0; part++) {
        for (const target of started) await loop(target, users, Math.max(1, Math.round(warmup / parts)));
      }
      await measure(started);
    } finally {
      for (const target of started) await target.stop();
    }
  };
  const record = async (target: RunningTarget, seconds: number) => {
    const s = await loop(target, users, seconds);
    slices.get(target.name)!.push(s);
    return s;
  };

  const paired = names.includes(PLAIN) && names.includes(FAPI2);
  if (paired) {
    process.stdout.write(`login: ${FAPI2} against ${PLAIN}, ${repeat} slice(s) of ${slice} s each...\n`);
    const alternate = async ([a, b]: RunningTarget[], count: number) => {
      const [plain, fapi2] = a!.name === PLAIN ? [a!, b!] : [b!, a!];
      let before = await record(plain, slice);
      for (let i = 0; i < count; i++) {
        const s = await record(fapi2, slice);
        const after = await record(plain, slice);
        ratios.push(s.rate / ((before.rate + after.rate) / 2));
        before = after;
      }
    };
    await block([PLAIN, FAPI2], (started) => alternate(started, Math.ceil(repeat / 2)));
    if (repeat > 1) await block([FAPI2, PLAIN], (started) => alternate(started, Math.floor(repeat / 2)));
  }
  for (const name of names.filter((n) => !paired || (n !== PLAIN && n !== FAPI2))) {
    process.stdout.write(`login: ${name}...\n`);
    await block([name], async ([target]) => void (await record(target!, lab.options.duration)));
  }
  if (names.length === 0) return;

  const runs = names.map((n) => summary(n, slices.get(n)!));
  const ratio = ratios.length ? median(ratios, (r) => r) : undefined;
  const how = [
    paired ? `${FAPI2} and ${PLAIN} in alternating ${slice} s slices, logins/s of the median slice` : '',
    runs.some((r) => r.slices === 1) ? `${paired ? 'others ' : ''}${lab.options.duration} s` : '',
  ];
  table(
    `login: complete sign-ins by ${users} concurrent browsers (${how.filter(Boolean).join('; ')})`,
    [
      'target',
      'logins/s',
      `vs ${PLAIN}`,
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
      r.target === FAPI2 ? fmt.ratio(ratio) : r.target === PLAIN && paired ? '1.00x' : '',
      fmt.ms(r.totalMs.p50),
      fmt.ms(r.totalMs.p99),
      fmt.ms(r.gatehouseMs.p50),
      fmt.ms(r.gatehouseMs.p99),
      fmt.pct(r.cpu.target),
      fmt.ms(r.cpu.targetMsPerLogin),
      fmt.pct(r.cpu.runner),
      String(r.failures),
    ]),
  );
  const fapi2 = names.includes(FAPI2)
    ? profileEvidence(idpOf(lab, FAPI2), lab.slots.get(FAPI2)!.clientId, since)
    : undefined;
  results.scenarios.login = { users, runs, fapi2VsPlain: { ratio, ratios }, fapi2Evidence: fapi2 };
  if (ratio !== undefined) {
    // Reported, not checked: a FAPI 2.0 sign-in does more by design (PAR, DPoP nonce retries,
    // a signed client assertion, PS256), and most of it is the provider's work, in the runner.
    const plain = runs.find((r) => r.target === PLAIN)!;
    const fapi = runs.find((r) => r.target === FAPI2)!;
    const note =
      `login: ${FAPI2} / ${PLAIN} sign-in rate ${fmt.ratio(ratio)} (median of ${ratios.length} slices against ` +
      `the ${PLAIN} slices around each; slice ratios ${ratios.map((r) => r.toFixed(2)).join(' ')}); ` +
      `Gatehouse CPU per sign-in ${fmt.ms(fapi.cpu.targetMsPerLogin)} vs ${fmt.ms(plain.cpu.targetMsPerLogin)} ms`;
    results.notes.push(note);
    process.stdout.write(`${note}\n`);
  }
  if (fapi2) {
    process.stdout.write(`login: ${FAPI2} at the provider: ${describeEvidence(fapi2)}\n`);
    const mismatch = profileMismatch('fapi2', fapi2);
    check(
      results,
      'login',
      `${FAPI2}: every sign-in went through PAR, private_key_jwt and DPoP, with PS256 ID tokens`,
      'as the profile says',
      mismatch || describeEvidence(fapi2),
      !mismatch,
    );
  }
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
