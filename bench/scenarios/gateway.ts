/**
 * The checks for gateway mode (gw-nginx, lib/gateway.ts): nginx proxying the API calls after asking
 * Gatehouse, which it mostly answers from its cache, should serve at least twice what Gatehouse
 * proxying the calls itself serves (gh-memory), and stay within 1.5x of nginx proxying with no
 * auth at all.
 *
 * In get1k both come from ratios to the node-proxy slices around each slice, as the other
 * comparisons of two targets are made there. gateway1k measures the second one directly, gw-nginx
 * slices between nginx slices: through node-proxy, two nginx targets are compared via a Node
 * process that this host's drift slows differently, across blocks minutes apart; the two routes
 * disagreed by 0.1 to 0.17 near the bound (bench/README.md, Results). Both also say how many
 * forward-auth calls nginx's cache let through to Gatehouse: the evidence that the measured setup is
 * the cached one.
 */
import { problems } from '../lib/measure.js';
import { check, fmt, type Results } from '../lib/report.js';
import type { Row } from './throughput.js';

const NGINX_BOUND = 1 / 1.5;

/** get1k: against gh-memory and nginx, through their ratios to node-proxy. */
export function gatewayChecks(results: Results, rows: Row[]): void {
  const row = (name: string) => rows.find((r) => r.target === name);
  const gateway = row('gw-nginx');
  if (!gateway) return;
  authCallsNote(results, 'get1k', gateway);
  const versus = (other: Row, min: number, label: string) => {
    // Without node-proxy in the run (--only), only the raw req/s of runs taken apart are left: said so.
    const paired = gateway.ratio !== undefined && other.ratio !== undefined;
    const ratio = paired ? gateway.ratio! / other.ratio! : gateway.rps / other.rps;
    check(
      results,
      'get1k',
      `gw-nginx throughput vs ${other.target} (${label})`,
      `>= ${fmt.ratio(min)}`,
      `${fmt.ratio(ratio)} (${fmt.rps(gateway.rps)} vs ${fmt.rps(other.rps)} req/s; p99 ${fmt.ms(gateway.p99Ms)} vs ` +
        `${fmt.ms(other.p99Ms)} ms; ${paired ? 'ratio of their ratios to node-proxy' : 'raw req/s, no node-proxy in this run'})`,
      ratio >= min && !problems(gateway),
    );
  };
  const gatehouse = row('gh-memory');
  if (gatehouse) versus(gatehouse, 2, 'Gatehouse proxying itself');
  const nginx = row('nginx');
  if (nginx) versus(nginx, NGINX_BOUND, 'within 1.5x of nginx with no auth');
}

/** gateway1k: each gw-nginx slice against the nginx slices around it. */
export function gateway1kChecks(results: Results, rows: Row[]): void {
  const gateway = rows.find((r) => r.target === 'gw-nginx');
  const nginx = rows.find((r) => r.target === 'nginx');
  if (!gateway || !nginx) return;
  authCallsNote(results, 'gateway1k', gateway);
  check(
    results,
    'gateway1k',
    'gw-nginx throughput vs nginx (within 1.5x of nginx with no auth, slice by slice)',
    `>= ${fmt.ratio(NGINX_BOUND)}`,
    `${fmt.ratio(gateway.ratio)} (${fmt.rps(gateway.rps)} vs ${fmt.rps(nginx.rps)} req/s; p99 ${fmt.ms(gateway.p99Ms)} ` +
      `vs ${fmt.ms(nginx.p99Ms)} ms; slices: ${gateway.ratios?.map((r) => r.toFixed(2)).join(' ')})`,
    gateway.ratio !== undefined && gateway.ratio >= NGINX_BOUND && !problems(gateway),
  );
}

function authCallsNote(results: Results, scenario: string, gateway: Row): void {
  if (!gateway.auth) return;
  const { calls, requests, perSlice } = gateway.auth;
  const note =
    `${scenario}: gw-nginx: ${fmt.rps(calls)} forward-auth calls reached Gatehouse during its ${perSlice.length} ` +
    `measured slices, which served ${fmt.rps(requests)} requests; nginx answered the rest from its cache ` +
    `(per slice: ${perSlice.join(' ')})`;
  results.notes.push(note);
  process.stdout.write(`\n${note}\n`);
}
