/**
 * OpenTelemetry tracing (optional, `tracing.enabled`): a server span per request and a client span
 * per upstream call, whose context reaches the upstream as a W3C `traceparent` header, exported
 * over OTLP/HTTP. Nothing is registered globally, so Gatehouse neither depends on nor disturbs an
 * application's own OpenTelemetry setup; the SDK is loaded only when tracing is on.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpRequest } from '../http/exchange.js';
import type { GatehouseConfig } from '../config/load.js';
import { routeLabel } from './metrics.js';

interface Propagator {
  inject(context: Context, carrier: unknown, setter: typeof defaultTextMapSetter): void;
  extract(context: Context, carrier: unknown, getter: typeof defaultTextMapGetter): Context;
}

export class Tracing {
  readonly #spans = new WeakMap<object, Span>();

  private constructor(
    private readonly tracer: Tracer,
    private readonly propagator: Propagator,
    private readonly trustIncoming: boolean,
    private readonly shutdown: () => Promise<void>,
  ) {}

  static async start(config: GatehouseConfig['tracing']): Promise<Tracing | undefined> {
    if (!config.enabled) return undefined;
    const [{ BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler }, otlp, res, core] =
      await Promise.all([
        import('@opentelemetry/sdk-trace-node'),
        import('@opentelemetry/exporter-trace-otlp-http'),
        import('@opentelemetry/resources'),
        import('@opentelemetry/core'),
      ]);
    const provider = new BasicTracerProvider({
      resource: res.resourceFromAttributes({ 'service.name': config.serviceName }),
      sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
      spanProcessors: [
        new BatchSpanProcessor(new otlp.OTLPTraceExporter(config.endpoint ? { url: config.endpoint } : {}), {
          scheduledDelayMillis: 1_000,
        }),
      ],
    });
    return new Tracing(
      provider.getTracer('gatehouse'),
      new core.W3CTraceContextPropagator(),
      config.trustIncoming,
      () => provider.shutdown(),
    );
  }

  /** Opens the request's server span (continuing the caller's trace only when trusted). */
  startRequest(request: FastifyRequest): void {
    const parent = this.trustIncoming
      ? this.propagator.extract(ROOT_CONTEXT, request.headers, defaultTextMapGetter)
      : ROOT_CONTEXT;
    const span = this.tracer.startSpan(
      `${request.method} ${routeLabel(request)}`,
      {
        kind: SpanKind.SERVER,
        attributes: {
          'http.request.method': request.method,
          'http.route': routeLabel(request),
          'gatehouse.request_id': request.id,
        },
      },
      parent,
    );
    this.#spans.set(request, span);
  }

  endRequest(request: FastifyRequest, reply: FastifyReply): void {
    const span = this.#spans.get(request);
    if (!span) return;
    span.setAttribute('http.response.status_code', reply.statusCode);
    if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  }

  /**
   * A client span for one upstream call, its context written into the upstream request's headers
   * as `traceparent`. Call the returned function with the status (or the error) when it ends.
   */
  upstreamCall(
    request: HttpRequest,
    headers: Record<string, string | string[] | undefined>,
    target: string,
    method: string = request.method,
  ): (outcome: number | Error) => void {
    const server = this.#spans.get(request);
    const parent = server ? trace.setSpan(ROOT_CONTEXT, server) : ROOT_CONTEXT;
    const span = this.tracer.startSpan(
      `${method} upstream`,
      { kind: SpanKind.CLIENT, attributes: { 'http.request.method': method, 'server.address': target } },
      parent,
    );
    delete headers.traceparent;
    delete headers.tracestate;
    this.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, defaultTextMapSetter);
    return (outcome) => {
      if (typeof outcome === 'number') {
        span.setAttribute('http.response.status_code', outcome);
        if (outcome >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      } else {
        span.recordException(outcome);
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
    };
  }

  /** Sends the spans still buffered. */
  close(): Promise<void> {
    return this.shutdown();
  }
}
