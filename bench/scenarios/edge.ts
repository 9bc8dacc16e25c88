/**
 * edge: Gatehouse as a Cloudflare Worker in workerd (gh-workerd, lib/workerd.ts: sessions in
 * Durable Objects) against Gatehouse on Node (gh-memory), the get1k load on each, gh-workerd's
 * slices each between two gh-memory slices, half of them with each start order (as tokens1k pairs
 * its targets with gh-memory). The ratio is reported against a stated bound (bench/README.md).
 */
import { problems } from '../lib/measure.js';
import { check, fmt, type Results } from '../lib/report.js';
import type { Row } from './throughput.js';

/** The bound, and why it is this one: bench/README.md ("The targets"). */
export const WORKERD_BOUND = 0.5;

export function edgeChecks(results: Results, rows: Row[]): void {
  const worker = rows.find((r) => r.target === 'gh-workerd');
  const node = rows.find((r) => r.target === 'gh-memory');
  if (!worker || !node) return;
  check(
    results,
    'edge',
    'gh-workerd throughput vs gh-memory (Gatehouse in workerd vs on Node, slice by slice)',
    `>= ${fmt.ratio(WORKERD_BOUND)}`,
    `${fmt.ratio(worker.ratio)} (${fmt.rps(worker.rps)} vs ${fmt.rps(node.rps)} req/s; p99 ${fmt.ms(worker.p99Ms)} ` +
      `vs ${fmt.ms(node.p99Ms)} ms; slices: ${worker.ratios?.map((r) => r.toFixed(2)).join(' ')})`,
    worker.ratio !== undefined && worker.ratio >= WORKERD_BOUND && !problems(worker),
  );
}
