/**
 * A local event bridge for the Lambda handler: a real HTTP server that turns each request into the
 * event a function URL (payload 2.0) or an Application Load Balancer would deliver, invokes the
 * handler as the Lambda runtime would, and turns its result back into the HTTP answer. Streamed
 * answers go through the runtime's wire format: HttpResponseStream.from() writes the metadata as
 * JSON, eight NUL bytes, then the body, and the bridge reads them off that byte stream as the
 * function URL service does. Only AWS is stood in for; Gatehouse's code runs as it is.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, type Writable } from 'node:stream';
import { createHandler, createStreamingHandler, type LambdaOptions } from '../../src/lambda/index.js';
import type { AlbEvent, AlbResult, HttpApiEvent, HttpApiResult } from '../../src/lambda/events.js';

export type EventSource = 'function-url-streaming' | 'function-url' | 'alb' | 'alb-multi-value';

export interface LambdaBridge {
  url: string;
  /** Every event delivered, in order. */
  events: (HttpApiEvent | AlbEvent)[];
  stop(): Promise<void>;
}

const DELIMITER = Buffer.alloc(8);

/** The parts of the Lambda Node.js runtime's `awslambda` global that response streaming uses. */
function installStreamingRuntime(): void {
  const global = globalThis as { awslambda?: unknown };
  global.awslambda ??= {
    streamifyResponse: (handler: unknown) => ({ streaming: handler }),
    HttpResponseStream: {
      from(stream: Writable, metadata: object) {
        stream.write(Buffer.concat([Buffer.from(JSON.stringify(metadata)), DELIMITER]));
        return stream;
      },
    },
  };
}

export async function startLambdaBridge(
  source: EventSource,
  options: LambdaOptions & { port?: number },
): Promise<LambdaBridge> {
  let invoke: (event: HttpApiEvent | AlbEvent, response: ServerResponse) => Promise<void>;
  if (source === 'function-url-streaming') {
    installStreamingRuntime();
    const { streaming } = createStreamingHandler(options) as {
      streaming: (event: unknown, stream: Writable) => Promise<void>;
    };
    invoke = (event, response) => streamed(streaming, event as HttpApiEvent, response);
  } else {
    const handler = createHandler(options);
    invoke = async (event, response) => answer(await handler(event), response);
  }
  const events: (HttpApiEvent | AlbEvent)[] = [];
  const server = createServer(async (request, response) => {
    try {
      const body = await readBody(request);
      const event = source.startsWith('alb')
        ? albEvent(request, body, source === 'alb-multi-value')
        : urlEvent(request, body);
      events.push(event);
      await invoke(event, response);
    } catch (error) {
      // What the function URL service does when the function fails: a 502 before the answer began,
      // a broken connection (no final chunk) after.
      if (response.headersSent) return void response.destroy();
      response.writeHead(502, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ Message: `function error: ${(error as Error).message}` }));
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    events,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function urlEvent(request: IncomingMessage, body: Buffer): HttpApiEvent {
  const [rawPath, rawQueryString = ''] = splitTarget(request.url!);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (name !== 'cookie' && value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return {
    version: '2.0',
    rawPath,
    rawQueryString,
    cookies: request.headers.cookie?.split('; '),
    headers,
    body: body.length > 0 ? body.toString('base64') : undefined,
    isBase64Encoded: body.length > 0,
    requestContext: {
      domainName: request.headers.host!,
      http: { method: request.method!, sourceIp: request.socket.remoteAddress! },
    },
  };
}

function albEvent(request: IncomingMessage, body: Buffer, multiValue: boolean): AlbEvent {
  const [path, query = ''] = splitTarget(request.url!);
  const pairs =
    query === '' ? [] : query.split('&').map((pair) => [pair.split('=')[0]!, pair.slice(pair.indexOf('=') + 1)]);
  const forwardedFor = [request.headers['x-forwarded-for'], request.socket.remoteAddress].filter(Boolean).join(', ');
  const raw = { ...request.headers, 'x-forwarded-for': forwardedFor };
  const event: AlbEvent = {
    httpMethod: request.method!,
    path,
    body: body.length > 0 ? body.toString('base64') : '',
    isBase64Encoded: body.length > 0,
    requestContext: {
      elb: { targetGroupArn: 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/gatehouse/1' },
    },
  };
  if (multiValue) {
    event.multiValueHeaders = Object.fromEntries(
      Object.entries(raw).map(([name, value]) => [name, Array.isArray(value) ? value : [String(value)]]),
    );
    event.multiValueQueryStringParameters = {};
    for (const [name, value] of pairs) (event.multiValueQueryStringParameters[name!] ??= []).push(value!);
  } else {
    event.headers = Object.fromEntries(Object.entries(raw).map(([name, value]) => [name, String(value)]));
    event.queryStringParameters = Object.fromEntries(pairs);
  }
  return event;
}

/** Writes a buffered result (function URL / HTTP API or ALB) as the HTTP answer. */
function answer(result: HttpApiResult | AlbResult, response: ServerResponse): void {
  const headers: Record<string, string | string[]> = { ...('headers' in result ? result.headers : {}) };
  if ('multiValueHeaders' in result && result.multiValueHeaders) Object.assign(headers, result.multiValueHeaders);
  if ('cookies' in result && result.cookies.length > 0) headers['set-cookie'] = result.cookies;
  response.writeHead(result.statusCode, headers);
  response.end(Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8'));
}

/** Runs a streaming handler, reading the metadata prelude and then the body off its stream. */
async function streamed(
  handler: (event: unknown, stream: Writable) => Promise<void>,
  event: HttpApiEvent,
  response: ServerResponse,
): Promise<void> {
  const stream = new PassThrough();
  let prelude = Buffer.alloc(0);
  stream.on('data', (chunk: Buffer) => {
    if (response.headersSent) return void response.write(chunk);
    prelude = Buffer.concat([prelude, chunk]);
    const end = prelude.indexOf(DELIMITER);
    if (end === -1) return;
    const metadata = JSON.parse(prelude.subarray(0, end).toString()) as {
      statusCode: number;
      headers: Record<string, string>;
      cookies: string[];
    };
    response.writeHead(metadata.statusCode, { ...metadata.headers, 'set-cookie': metadata.cookies });
    response.flushHeaders();
    const rest = prelude.subarray(end + DELIMITER.length);
    if (rest.length > 0) response.write(rest);
  });
  const ended = new Promise<void>((resolve) => stream.on('end', resolve));
  await handler(event, stream);
  if (!stream.writableEnded) stream.end();
  await ended;
  response.end();
}

function splitTarget(target: string): [string, string?] {
  const at = target.indexOf('?');
  return at === -1 ? [target] : [target.slice(0, at), target.slice(at + 1)];
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
