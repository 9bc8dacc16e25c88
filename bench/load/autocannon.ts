/**
 * The fallback load generator, in a process of its own (never in the runner, whose event loop also
 * serves the identity provider): autocannon with the given spec, one result line on stdout in the
 * same shape lib/load.ts makes of wrk's.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import type { LoadSpec } from '../lib/load.js';

/** The load spec, with the cookies to rotate through in a file (they can be many). */
type Spec = Omit<LoadSpec, 'cookies'> & { cookiesFile?: string };

const spec = JSON.parse(process.argv[2]!) as Spec;
const cookies = spec.cookiesFile ? (JSON.parse(readFileSync(spec.cookiesFile, 'utf8')) as string[]) : undefined;
let at = 0;

const result = await autocannon({
  url: spec.url,
  connections: spec.connections,
  duration: spec.seconds,
  timeout: 5,
  method: spec.method ?? 'GET',
  headers: {
    ...spec.headers,
    ...(spec.bodyBytes ? { 'content-type': 'application/octet-stream' } : {}),
  },
  body: spec.bodyBytes ? Buffer.alloc(spec.bodyBytes, 'x') : undefined,
  requests: cookies
    ? [
        {
          setupRequest: (request) => {
            at = (at + 1) % cookies.length;
            return { ...request, headers: { ...request.headers, cookie: cookies[at]! } };
          },
        },
      ]
    : undefined,
});

const total = result.requests.total;
const errorKinds = { errors: result.errors, timeouts: result.timeouts };
process.stdout.write(
  `BENCH_JSON ${JSON.stringify({
    seconds: result.duration,
    requests: total,
    rps: total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    non2xx: result.non2xx,
    statuses: Object.fromEntries(
      (['1xx', '3xx', '4xx', '5xx'] as const).map((c) => [c, result[c]]).filter(([, n]) => Number(n) > 0),
    ),
    errors: result.errors + result.timeouts,
    errorKinds,
  })}\n`,
);
