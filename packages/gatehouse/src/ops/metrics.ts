/**
 * Prometheus metrics, served by the admin listener at /metrics. One registry per Gatehouse, so
 * several instances in one process (tests, embedding) never mix their numbers.
 *
 * Labels are bounded on purpose: `route` is the route pattern ("/api/orders/*"), never the path;
 * `code` is one of the error codes in errors.ts.
 */
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SessionStore } from '../session/store.js';

export type RefreshOutcome = 'success' | 'rejected' | 'provider_unavailable' | 'error';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export class Metrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'gatehouse_http_requests_total',
    help: 'Requests answered on the public listener, by route pattern, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    registers: [this.registry],
  });

  readonly requestDuration = new Histogram({
    name: 'gatehouse_http_request_duration_seconds',
    help: 'Time from request to the end of the response (streamed bodies included), by route pattern, method and status.',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly errors = new Counter({
    name: 'gatehouse_errors_total',
    help: 'Error answers by code (csrf_header_missing, upstream_timeout, session_store_unavailable, ...) and route pattern.',
    labelNames: ['route', 'code'] as const,
    registers: [this.registry],
  });

  readonly refreshes = new Counter({
    name: 'gatehouse_token_refreshes_total',
    help: 'Refresh-token grants run by this instance, by outcome: success, rejected (session ended), provider_unavailable, error.',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  readonly storeDuration = new Histogram({
    name: 'gatehouse_session_store_duration_seconds',
    help: 'Session store operations, by operation.',
    labelNames: ['operation'] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });

  readonly storeErrors = new Counter({
    name: 'gatehouse_session_store_errors_total',
    help: 'Session store operations that failed (unreachable, timed out), by operation.',
    labelNames: ['operation'] as const,
    registers: [this.registry],
  });

  readonly logins = new Counter({
    name: 'gatehouse_logins_total',
    help: 'Completed sign-ins (sessions created).',
    registers: [this.registry],
  });

  /** In the primary of `--workers N`: what every worker's registry holds, added up. */
  readonly #workers: AggregatorRegistry<'text/plain; version=0.0.4; charset=utf-8'> | undefined;

  /** `cluster`: "worker" answers the primary's requests for metrics; "primary" serves the sum of its workers'. */
  constructor(cluster?: 'primary' | 'worker') {
    collectDefaultMetrics({ register: this.registry, prefix: 'gatehouse_' });
    if (cluster === 'worker') {
      AggregatorRegistry.setRegistries([this.registry]);
      // Constructing one is what makes prom-client answer the primary's requests in a worker.
      new AggregatorRegistry();
    }
    if (cluster === 'primary') this.#workers = new AggregatorRegistry();
  }

  readonly contentType = this.registry.contentType;

  /** The Prometheus text exposition: this process's metrics, or in a primary its workers'. */
  exposition(): Promise<string> {
    return this.#workers ? this.#workers.clusterMetrics() : this.registry.metrics();
  }

  /** Counts sessions at scrape time, when the store can tell (memory, redis; not cookie mode). */
  countSessionsOf(stores: readonly (SessionStore | undefined)[]): void {
    const counted = stores.filter((store) => store?.count !== undefined) as SessionStore[];
    if (counted.length === 0) return;
    new Gauge({
      name: 'gatehouse_sessions_active',
      help: 'Live sessions in the session stores of every app (shared by every instance using them).',
      registers: [this.registry],
      // Every worker counts the same store: the total is any one of them, not their sum.
      aggregator: 'max',
      async collect() {
        const counts = await Promise.all(counted.map((store) => store.count!()));
        this.set(counts.reduce((sum, n) => sum + n, 0));
      },
    });
  }

  /** The labelled children per route, method and status: found by one string key, not by hashing labels. */
  readonly #requestSeries = new Map<string, { count: { inc(): void }; duration: { observe(value: number): void } }>();

  observeRequest(request: FastifyRequest, reply: FastifyReply): void {
    const route = routeLabel(request);
    const key = `${route} ${request.method} ${reply.statusCode}`;
    let series = this.#requestSeries.get(key);
    if (!series) {
      const labels = { route, method: request.method, status: String(reply.statusCode) };
      series = { count: this.requests.labels(labels), duration: this.requestDuration.labels(labels) };
      this.#requestSeries.set(key, series);
    }
    series.count.inc();
    series.duration.observe(reply.elapsedTime / 1000);
  }

  countError(request: FastifyRequest, code: string): void {
    this.errors.inc({ route: routeLabel(request), code });
  }
}

/** The route pattern that served the request: "static" for the SPA's files, "unmatched" for 404s. */
export function routeLabel(request: FastifyRequest): string {
  const url = request.routeOptions.url;
  if (url === '/*') return 'static';
  return url ?? 'unmatched';
}

/** The store, with each operation timed and its failures counted. */
export function instrumentStore(store: SessionStore, metrics: Metrics): SessionStore {
  const timed =
    <A extends unknown[], R>(operation: string, run: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const end = metrics.storeDuration.startTimer({ operation });
      try {
        return await run.apply(store, args);
      } catch (error) {
        metrics.storeErrors.inc({ operation });
        throw error;
      } finally {
        end();
      }
    };
  return {
    get: timed('get', store.get),
    // In-memory answers: nothing to time (store latency is about the store, not this process's memory).
    peek: store.peek?.bind(store),
    set: timed('set', store.set),
    update: timed('update', store.update),
    touch: timed('touch', store.touch),
    delete: timed('delete', store.delete),
    find: timed('find', store.find),
    markUsed: timed('mark_used', store.markUsed),
    lock: store.lock && timed('lock', store.lock),
    count: store.count?.bind(store),
    connect: store.connect?.bind(store),
    ping: store.ping.bind(store),
    close: store.close.bind(store),
  };
}
