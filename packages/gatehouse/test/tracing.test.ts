/**
 * OpenTelemetry tracing, exported over real OTLP/HTTP to an in-test collector: a server span per
 * request, a client span per upstream call, and the upstream receiving that client span's
 * `traceparent`. A browser's traceparent is continued only when trusted.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { TestBrowser } from './support/browser.js';
import { signIn, startStack, type Stack } from './support/stack.js';

interface ExportedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: { key: string; value: Record<string, unknown> }[];
}

/** An OTLP/HTTP (JSON) trace receiver. */
async function startCollector(): Promise<{ url: string; spans: ExportedSpan[]; close(): Promise<void> }> {
  const spans: ExportedSpan[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      const payload = JSON.parse(body) as { resourceSpans: { scopeSpans: { spans: ExportedSpan[] }[] }[] };
      for (const resource of payload.resourceSpans) for (const scope of resource.scopeSpans) spans.push(...scope.spans);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    spans,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

for (const trustIncoming of [false, true]) {
  describe(`tracing (trustIncoming: ${trustIncoming})`, () => {
    let collector: Awaited<ReturnType<typeof startCollector>>;
    let stack: Stack;
    const browserTrace = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;

    before(async () => {
      collector = await startCollector();
      stack = await startStack({
        gatehouse: (d) => ({ ...d, tracing: { enabled: true, endpoint: collector.url, trustIncoming } }),
      });
      const browser = new TestBrowser();
      await signIn(browser, stack);
      const response = await browser.api(`${stack.app}/api/orders/42`, { headers: { traceparent: browserTrace } });
      assert.equal(response.status, 200);
      await stack.close(); // flushes the spans still buffered
    });
    after(() => collector.close());

    it('exports a server span for the request and a client span for the upstream call, as its child', () => {
      const server = collector.spans.find((s) => s.name === 'GET /api/orders/*');
      const client = collector.spans.find((s) => s.name === 'GET upstream');
      assert.ok(server, `spans: ${collector.spans.map((s) => s.name).join(', ')}`);
      assert.ok(client);
      assert.equal(server.kind, 2, 'SERVER');
      assert.equal(client.kind, 3, 'CLIENT');
      assert.equal(client.traceId, server.traceId);
      assert.equal(client.parentSpanId, server.spanId);
      const status = server.attributes.find((a) => a.key === 'http.response.status_code');
      assert.equal(Number(status?.value.intValue), 200);
      assert.ok(
        collector.spans.some((s) => s.name === 'GET /api/auth/callback'),
        'sign-in requests are traced too',
      );
    });

    it("sends the upstream the client span's traceparent", () => {
      const received = stack.upstream.received.at(-1)!;
      const [, traceId, spanId] = TRACEPARENT.exec(String(received.headers.traceparent)) ?? [];
      const client = collector.spans.find((s) => s.name === 'GET upstream')!;
      assert.equal(traceId, client.traceId);
      assert.equal(spanId, client.spanId);
    });

    it(trustIncoming ? "continues the browser's trace" : "starts a new trace instead of the browser's", () => {
      const server = collector.spans.find((s) => s.name === 'GET /api/orders/*')!;
      if (trustIncoming) {
        assert.equal(server.traceId, 'a'.repeat(32));
        assert.equal(server.parentSpanId, 'b'.repeat(16));
      } else {
        assert.notEqual(server.traceId, 'a'.repeat(32));
        assert.ok(!server.parentSpanId, 'a root span');
      }
    });
  });
}
