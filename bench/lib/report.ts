/** Printing: aligned tables and PASS/FAIL lines; and the JSON record of the whole run. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { arch, availableParallelism, release, totalmem } from 'node:os';
import { join } from 'node:path';

export interface Check {
  scenario: string;
  name: string;
  expected: string;
  actual: string;
  pass: boolean;
}

export interface Results {
  startedAt: string;
  command: string;
  machine: Record<string, unknown>;
  settings: Record<string, unknown>;
  scenarios: Record<string, unknown>;
  checks: Check[];
  notes: string[];
}

export function newResults(command: string): Results {
  return {
    startedAt: new Date().toISOString(),
    command,
    machine: {},
    settings: {},
    scenarios: {},
    checks: [],
    notes: [],
  };
}

export function machineInfo(extra: Record<string, unknown>): Record<string, unknown> {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim();
  let redis: string | undefined;
  try {
    redis = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    redis = undefined;
  }
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { encoding: 'utf8' }).trim();
    } catch {
      return undefined;
    }
  };
  return {
    gatehouseCommit: git('rev-parse', '--short', 'HEAD'),
    // another engineer's uncommitted work under packages/ is part of what was measured
    uncommittedInPackages: git('status', '--porcelain', 'packages')?.split('\n').filter(Boolean),
    cpu: model,
    cores: availableParallelism(),
    arch: arch(),
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    node: process.version,
    redis,
    loadAverageAtStart: readFileSync('/proc/loadavg', 'utf8').trim(),
    ...extra,
  };
}

export function writeResults(dir: string, results: Results): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${results.startedAt.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

export function check(
  results: Results,
  scenario: string,
  name: string,
  expected: string,
  actual: string,
  pass: boolean,
): Check {
  const entry = { scenario, name, expected, actual, pass };
  results.checks.push(entry);
  process.stdout.write(`${pass ? 'PASS' : 'FAIL'}  ${name}: ${actual} (target ${expected})\n`);
  return entry;
}

/** Prints a table; numbers and ratios are right-aligned, text left-aligned. */
export function table(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const numeric = header.map((_, i) => rows.every((r) => /^[-\d.,x%×≥≤ —/]*$|^\d/.test(r[i] ?? '')));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric[i] && i > 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  process.stdout.write(`\n${title}\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const row of rows) process.stdout.write(`${line(row)}\n`);
  process.stdout.write('\n');
}

export const fmt = {
  rps: (n: number) => Math.round(n).toLocaleString('en-US'),
  ms: (n: number) => (n < 10 ? n.toFixed(2) : n < 100 ? n.toFixed(1) : n.toFixed(0)),
  ratio: (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '—' : `${n.toFixed(2)}x`),
  pct: (n: number) => `${Math.round(n)}%`,
  mib: (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`,
};

export function median<T>(items: T[], by: (item: T) => number): T {
  const sorted = [...items].sort((a, b) => by(a) - by(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
