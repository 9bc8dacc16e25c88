/**
 * Reading a V8 .cpuprofile (what `node --cpu-prof` writes). Three views:
 * - self time per function: how often the sampler found that function itself on top of the stack;
 * - self time per package: the same, summed by who owns the code (a dependency, Gatehouse, Node's
 *   own JavaScript, native code);
 * - inclusive time of Gatehouse's functions: the samples with that function anywhere on the
 *   (synchronous) stack, i.e. what it and everything it calls cost.
 */
import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface Timed {
  name: string;
  ms: number;
  /** Share of all sampled time (idle included). */
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** "function (where)" by self time. */
  self: Timed[];
  byPackage: Timed[];
  /** Gatehouse's functions by inclusive time. */
  gatehouseInclusive: Timed[];
}

/** node_modules/<pkg>/... or a repository path, instead of a long file:// URL. */
function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('node_modules/');
  if (modules !== -1) return path.slice(modules + 'node_modules/'.length);
  const repo = path.indexOf('/packages/');
  return repo !== -1 ? path.slice(repo + 1) : path;
}

function label(frame: CallFrame): string {
  const name = frame.functionName || '(anonymous)';
  return frame.url ? `${name} (${shortUrl(frame.url)}:${frame.lineNumber + 1})` : name;
}

/** Which part of the system a frame belongs to. */
function owner(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith('(') ? functionName : 'native (V8 / Node C++)';
  if (url.startsWith('wasm://')) return 'wasm (llhttp, undici HTTP parser)';
  if (url.startsWith('node:')) return 'node: internals (JS)';
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('node_modules/');
  if (modules !== -1) {
    const [scope, name] = path.slice(modules + 'node_modules/'.length).split('/');
    return scope!.startsWith('@') ? `${scope}/${name}` : scope!;
  }
  return path.includes('/packages/gatehouse/') ? 'gatehouse' : shortUrl(url);
}

function ranked(totals: Map<string, number>, totalMs: number, count: number): Timed[] {
  return [...totals]
    .map(([name, ms]) => ({ name, ms, share: ms / totalMs }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, count);
}

export function summarizeProfile(file: string, count = 20): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

  const self = new Map<string, number>();
  const packages = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const add = (map: Map<string, number>, key: string, ms: number) => map.set(key, (map.get(key) ?? 0) + ms);
  let totalMs = 0;
  profile.samples.forEach((id, i) => {
    // timeDeltas[i] is the time since the previous sample: it belongs to this one
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    totalMs += ms;
    const frame = byId.get(id)!.callFrame;
    add(self, label(frame), ms);
    add(packages, owner(frame), ms);
    const seen = new Set<string>(); // a recursive function counts once per sample
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = byId.get(at)!.callFrame;
      if (owner(f) !== 'gatehouse') continue;
      const key = label(f);
      if (!seen.has(key)) add(inclusive, key, ms);
      seen.add(key);
    }
  });
  return {
    totalMs,
    self: ranked(self, totalMs, count),
    byPackage: ranked(packages, totalMs, count),
    gatehouseInclusive: ranked(inclusive, totalMs, count),
  };
}
