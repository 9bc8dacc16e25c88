/** Command-line options of `npm run bench -- [options]`. */
import { parseArgs } from 'node:util';
import { TARGET_NAMES, type TargetName } from './targets.js';

export const SCENARIOS = [
  'get1k',
  'gateway1k',
  'tokens1k',
  'stream64k',
  'upload1m',
  'sessions100k',
  'expiry',
  'login',
  'edge',
  'coldstart',
  'soak',
  'profile',
] as const;
export type Scenario = (typeof SCENARIOS)[number];

export interface Options {
  quick: boolean;
  /** Seconds of each measurement outside the throughput scenarios. */
  duration: number;
  /** Seconds of each measured slice in the throughput scenarios. */
  slice: number;
  /** Seconds of load, not counted, before a target's first measurement. */
  warmup: number;
  connections: number;
  /** Throughput scenarios: measured slices per target, each between two slices of the baseline (node-proxy, gh-memory, nginx). */
  repeat: number;
  /** Whether --repeat was given (else some scenarios take fewer slices: edge). */
  repeatGiven: boolean;
  only: TargetName[] | undefined;
  scenarios: Scenario[];
  /** Seconds of the RSS soak; 0: no soak. */
  soak: number;
  /** Sessions written to Redis in sessions100k. */
  sessions: number;
  /** Sessions signed in for the expiry storm, and their access-token lifetime. */
  expirySessions: number;
  expiryTtl: number;
  loginUsers: number;
  /** Fresh processes per runtime in coldstart. */
  coldStarts: number;
  loadgen: string | undefined;
  upstream: 'nginx' | 'node';
  resultsDir: string;
}

export const USAGE = `Usage: npm run bench -- [options]

  --quick                  short runs (2 s, 2 throughput slices, 1 s warm-up, 10,000 sessions, 50 expiring sessions, 10 s soak): a smoke test
  --duration <s>           seconds per measurement outside get1k, gateway1k, tokens1k, edge, stream64k and upload1m (default 5)
  --slice <s>              seconds per measured slice in get1k, gateway1k, tokens1k, edge, stream64k, upload1m and login's paired slices (default 1)
  --warmup <s>             seconds of load, not counted, before a target's first measurement (default 10)
  --connections <n>        keep-alive connections of the load generator (default 32)
  --repeat <n>             slices per target in get1k, stream64k and upload1m, each between two node-proxy slices,
                           in tokens1k, edge and of gh-fapi2 in login, each between two gh-memory slices, and in
                           gateway1k, each between two nginx slices (default 16, edge 8; 2 with --quick)
  --only <target,...>      ${TARGET_NAMES.join(', ')}
  --scenario <name,...>    ${SCENARIOS.join(', ')}
                           (default: all but soak and profile)
  --soak <s>               also run the RSS soak for this long (600 for the real one)
  --profile                also record CPU profiles of node-proxy and the single-process Gatehouse modes under the get1k load
  --sessions <n>           sessions written to Redis in sessions100k (default 100000)
  --expiry-sessions <n>    sessions in the expiry storm (default 200)
  --expiry-ttl <s>         their access-token lifetime (default 2)
  --login-users <n>        concurrent browsers in the login scenario (default 4)
  --cold-starts <n>        fresh processes of each kind in coldstart (default 10; 3 with --quick)
  --loadgen wrk|autocannon load generator (default: wrk when installed)
  --upstream nginx|node    upstream server (default: nginx when installed)
  --results <dir>          where the JSON results go (default bench/results)
`;

function list<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T[] | undefined {
  if (value === undefined) return undefined;
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) {
    if (!allowed.includes(item as T)) throw new Error(`unknown ${what} "${item}" (expected ${allowed.join(', ')})`);
  }
  return items as T[];
}

function number(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${what} must be a number, not "${value}"`);
  return n;
}

export function parseOptions(argv: string[]): Options | undefined {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean' },
      duration: { type: 'string' },
      slice: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      repeat: { type: 'string' },
      only: { type: 'string' },
      scenario: { type: 'string' },
      soak: { type: 'string' },
      profile: { type: 'boolean' },
      sessions: { type: 'string' },
      'expiry-sessions': { type: 'string' },
      'expiry-ttl': { type: 'string' },
      'login-users': { type: 'string' },
      'cold-starts': { type: 'string' },
      loadgen: { type: 'string' },
      upstream: { type: 'string' },
      results: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return undefined;
  const quick = values.quick ?? false;
  const soak = number(values.soak, 0, '--soak');
  const chosen = list(values.scenario, SCENARIOS, 'scenario');
  const scenarios: Scenario[] = chosen ?? [
    ...SCENARIOS.filter((s) => s !== 'soak' && s !== 'profile'),
    ...(soak > 0 ? (['soak'] as const) : []),
    ...(values.profile ? (['profile'] as const) : []),
  ];
  if (values.loadgen !== undefined && !['wrk', 'autocannon'].includes(values.loadgen)) {
    throw new Error('--loadgen must be wrk or autocannon');
  }
  if (values.upstream !== undefined && !['nginx', 'node'].includes(values.upstream)) {
    throw new Error('--upstream must be nginx or node');
  }
  return {
    quick,
    duration: number(values.duration, quick ? 2 : 5, '--duration'),
    warmup: number(values.warmup, quick ? 1 : 10, '--warmup'),
    connections: number(values.connections, 32, '--connections'),
    slice: Math.max(1, Math.round(number(values.slice, 1, '--slice'))),
    repeat: Math.max(1, Math.round(number(values.repeat, quick ? 2 : 16, '--repeat'))),
    repeatGiven: values.repeat !== undefined,
    only: list(values.only, TARGET_NAMES, 'target'),
    scenarios,
    soak: scenarios.includes('soak') && soak === 0 ? (quick ? 10 : 600) : soak,
    sessions: number(values.sessions, quick ? 10_000 : 100_000, '--sessions'),
    expirySessions: number(values['expiry-sessions'], quick ? 50 : 200, '--expiry-sessions'),
    expiryTtl: number(values['expiry-ttl'], 2, '--expiry-ttl'),
    loginUsers: number(values['login-users'], 4, '--login-users'),
    coldStarts: Math.max(1, Math.round(number(values['cold-starts'], quick ? 3 : 10, '--cold-starts'))),
    loadgen: values.loadgen,
    upstream: (values.upstream as 'nginx' | 'node' | undefined) ?? 'nginx',
    resultsDir: values.results ?? 'bench/results',
  };
}
