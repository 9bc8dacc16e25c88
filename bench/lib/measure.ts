/**
 * One measurement of one target: a warm-up (same load, not counted: JIT, connection pools and
 * caches settle), then the measured run, with the CPU use of everyone involved.
 */
import { cpuOf, cpuSnapshot, cpuUse, type CpuUse } from './cpu.js';
import { runLoad, type LoadResult, type LoadSpec } from './load.js';
import type { Lab, RunningTarget } from './targets.js';

export interface Measurement extends LoadResult {
  target: string;
  cpu: CpuUse;
  /** gw-nginx: forward-auth calls that reached Gatehouse during the run (the rest came from nginx's cache). */
  authCalls?: number;
}

export interface RequestShape {
  path: string;
  method?: 'GET' | 'POST';
  bodyBytes?: number;
  cookies?: string[];
}

export async function measure(
  lab: Lab,
  target: RunningTarget,
  shape: RequestShape,
  options: { seconds?: number; warmup?: number } = {},
): Promise<Measurement> {
  const spec: LoadSpec = {
    url: `${target.origin}${target.apiPrefix}${shape.path}`,
    seconds: options.seconds ?? lab.options.duration,
    connections: lab.options.connections,
    headers: target.headers,
    method: shape.method,
    bodyBytes: shape.bodyBytes,
    cookies: shape.cookies,
  };
  const warmup = options.warmup ?? lab.options.warmup;
  if (warmup > 0) await runLoad(lab.loadTool, { ...spec, seconds: warmup }, lab.dir);
  const calls = await target.authCalls?.();
  const before = cpuSnapshot();
  const result = await runLoad(lab.loadTool, spec, lab.dir);
  const after = cpuSnapshot();
  const cpu = cpuUse(before, after, { target: target.pids, upstream: [lab.upstream.child.pid] });
  if (target.cpuParts) {
    cpu.parts = Object.fromEntries(Object.entries(target.cpuParts).map(([k, pids]) => [k, cpuOf(before, after, pids)]));
  }
  const authCalls = calls === undefined ? undefined : (await target.authCalls!()) - calls;
  return { ...result, target: target.name, cpu, ...(authCalls === undefined ? {} : { authCalls }) };
}

/** Why a run's numbers cannot be taken at face value, or '' when they can. */
export function problems(m: Pick<LoadResult, 'non2xx' | 'statuses' | 'errors' | 'errorKinds'>): string {
  const parts: string[] = [];
  if (m.non2xx > 0) {
    const statuses = Object.entries(m.statuses).map(([status, n]) => `${status}: ${n}`);
    parts.push(`${m.non2xx} non-2xx (${statuses.join(', ')})`);
  }
  if (m.errors > 0) {
    const kinds = Object.entries(m.errorKinds)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${n} ${k}`);
    parts.push(kinds.join(', '));
  }
  return parts.length ? `!! ${parts.join(', ')}` : '';
}
