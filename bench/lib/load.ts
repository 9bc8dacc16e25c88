/**
 * The load generator: wrk when installed (`apt-get install wrk`), else autocannon. Both run as a
 * child process with one thread (one core of two; the target and the upstream share the other),
 * a fixed number of keep-alive connections, for a fixed time.
 *
 * Every answer that is not 2xx is counted (wrk itself only counts >= 400, so a Lua `response` hook
 * counts the rest: a 302 to a login page is a failure here, not a fast request), as are socket
 * errors and timeouts; a run with any of them is flagged in the tables.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuSnapshot } from './cpu.js';
import { startChild } from './processes.js';

export type LoadTool = 'wrk' | 'autocannon';

export interface LoadSpec {
  url: string;
  seconds: number;
  connections: number;
  headers?: Record<string, string>;
  method?: 'GET' | 'POST';
  /** A request body of this many bytes (POST). */
  bodyBytes?: number;
  /** Cookie headers to rotate through, one per request (many sessions at once). */
  cookies?: string[];
}

export interface LoadResult {
  tool: LoadTool;
  seconds: number;
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
  /** How many answers had each non-2xx status (autocannon: by class, "4xx"). */
  statuses: Record<string, number>;
  /** Socket errors and timeouts. */
  errors: number;
  errorKinds: Record<string, number>;
  /** CPU the load generator itself used, % of one core. */
  loadgenCpu: number;
}

const WRK = ['/usr/bin/wrk', '/usr/local/bin/wrk'];

export function wrkPath(): string | undefined {
  return WRK.find((p) => existsSync(p));
}

export function pickTool(forced: string | undefined): LoadTool {
  if (forced === 'autocannon') return 'autocannon';
  if (forced === 'wrk' && !wrkPath()) throw new Error('--loadgen wrk: wrk is not installed (apt-get install wrk)');
  return wrkPath() ? 'wrk' : 'autocannon';
}

export function toolVersion(tool: LoadTool): string {
  if (tool === 'autocannon') {
    const pkg = new URL('../../node_modules/autocannon/package.json', import.meta.url);
    return `autocannon ${(JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version}`;
  }
  try {
    execFileSync(wrkPath()!, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    // wrk -v prints its version and exits 1
    return String((error as { stdout?: string }).stdout ?? '')
      .split('\n', 1)[0]!
      .replace(/ Copyright.*/, '')
      .trim();
  }
  return 'wrk';
}

export async function runLoad(tool: LoadTool, spec: LoadSpec, dir: string): Promise<LoadResult> {
  const before = cpuSnapshot();
  const raw = tool === 'wrk' ? await runWrk(spec, dir) : await runAutocannon(spec, dir);
  const after = cpuSnapshot();
  // Its CPU time shows in the runner's reaped-children ticks once it has exited (100 ticks = 1 s = 100%).
  const ticksPerSecond = (after.reapedTicks - before.reapedTicks) / ((after.at - before.at) / 1000);
  const loadgenCpu = Math.round(ticksPerSecond * 10) / 10;
  return { ...raw, tool, loadgenCpu };
}

type Raw = Omit<LoadResult, 'tool' | 'loadgenCpu'>;

/** A Lua long string: no escaping to get wrong, whatever the value holds. */
const lua = (value: string) => `[==[${value}]==]`;

let scripts = 0;

async function runWrk(spec: LoadSpec, dir: string): Promise<Raw> {
  const lines: string[] = [];
  for (const [name, value] of Object.entries(spec.headers ?? {}))
    lines.push(`wrk.headers[ ${lua(name)} ] = ${lua(value)}`);
  if (spec.method) lines.push(`wrk.method = ${lua(spec.method)}`);
  if (spec.bodyBytes) {
    lines.push(`wrk.body = string.rep("x", ${spec.bodyBytes})`);
    lines.push(`wrk.headers["Content-Type"] = "application/octet-stream"`);
  }
  if (spec.cookies) {
    const file = join(dir, `cookies-${scripts}.txt`);
    writeFileSync(file, `${spec.cookies.join('\n')}\n`);
    lines.push(
      `local cookies = {}`,
      `for line in io.lines(${lua(file)}) do cookies[#cookies + 1] = line end`,
      `local at = 0`,
      `function request()`,
      `  at = at % #cookies + 1`,
      `  wrk.headers["Cookie"] = cookies[at]`,
      `  return wrk.format()`,
      `end`,
    );
  }
  lines.push(
    `non2xx = 0`,
    `statuses = {}`,
    `function response(status)`,
    `  if status < 200 or status > 299 then`,
    `    non2xx = non2xx + 1`,
    `    statuses[status] = (statuses[status] or 0) + 1`,
    `  end`,
    `end`,
    `local threads = {}`,
    `function setup(thread) threads[#threads + 1] = thread end`,
    `function done(summary, latency)`,
    `  local bad, merged, parts = 0, {}, {}`,
    `  for _, t in ipairs(threads) do`,
    `    bad = bad + t:get("non2xx")`,
    `    for status, n in pairs(t:get("statuses")) do merged[status] = (merged[status] or 0) + n end`,
    `  end`,
    `  for status, n in pairs(merged) do parts[#parts + 1] = string.format('"%d":%d', status, n) end`,
    `  local e = summary.errors`,
    `  io.write(string.format('BENCH_JSON {"requests":%.0f,"us":%.0f,"p50":%.0f,"p99":%.0f,"max":%.0f,"non2xx":%.0f,` +
      `"connect":%.0f,"read":%.0f,"write":%.0f,"timeout":%.0f,"statuses":{%s}}\\n', summary.requests, summary.duration,` +
      ` latency:percentile(50), latency:percentile(99), latency.max, bad, e.connect, e.read, e.write, e.timeout,` +
      ` table.concat(parts, ",")))`,
    `end`,
  );
  const script = join(dir, `wrk-${scripts++}.lua`);
  writeFileSync(script, `${lines.join('\n')}\n`);
  const args = ['-t1', `-c${spec.connections}`, `-d${spec.seconds}s`, '--timeout', '5s', '-s', script, spec.url];
  const child = startChild('wrk', wrkPath()!, args, { keepStdout: true });
  const code = await child.exited;
  const line = /BENCH_JSON (.+)/.exec(child.stdout())?.[1];
  if (code !== 0 || !line) throw new Error(`wrk failed (${code}):\n${child.output()}`);
  const r = JSON.parse(line) as Record<string, number> & { statuses: Record<string, number> };
  const errorKinds = { connect: r.connect!, read: r.read!, write: r.write!, timeout: r.timeout! };
  const seconds = r.us! / 1e6;
  return {
    seconds,
    requests: r.requests!,
    rps: r.requests! / seconds,
    p50Ms: r.p50! / 1000,
    p99Ms: r.p99! / 1000,
    maxMs: r.max! / 1000,
    non2xx: r.non2xx!,
    statuses: r.statuses,
    errors: Object.values(errorKinds).reduce((a, b) => a + b, 0),
    errorKinds,
  };
}

async function runAutocannon(spec: LoadSpec, dir: string): Promise<Raw> {
  let body: string | undefined;
  if (spec.cookies) {
    body = join(dir, `cookies-${scripts++}.json`);
    writeFileSync(body, JSON.stringify(spec.cookies));
  }
  const script = fileURLToPath(new URL('../load/autocannon.ts', import.meta.url));
  const child = startChild(
    'autocannon',
    process.execPath,
    ['--import', 'tsx', script, JSON.stringify({ ...spec, cookies: undefined, cookiesFile: body })],
    { keepStdout: true },
  );
  const code = await child.exited;
  const line = /BENCH_JSON (.+)/.exec(child.stdout())?.[1];
  if (code !== 0 || !line) throw new Error(`autocannon failed (${code}):\n${child.output()}`);
  return JSON.parse(line) as Raw;
}
