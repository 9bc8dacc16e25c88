/**
 * Gatehouse as an AWS Lambda function (docs/deploy-lambda.md): function URLs (buffered, or
 * streamed with createStreamingHandler), API Gateway HTTP APIs and Application Load Balancers.
 * One Gatehouse per execution environment, built at the first invocation from the configuration
 * file (GATEHOUSE_CONFIG_FILE, default gatehouse.yaml beside the code) or the GATEHOUSE_CONFIG
 * variable, `${NAME}`s from the environment and, with GATEHOUSE_SECRETS_ID, from a Secrets Manager
 * secret (a JSON object of names and values).
 *
 *   import { createStreamingHandler } from 'gatehouse/lambda';
 *   export const handler = createStreamingHandler();
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ConfigError, type GatehouseConfig } from '../config/load.js';
import { loadRuntimeConfig } from '../config/runtimes.js';
import { GatehouseError } from '../errors.js';
import { loadExtensions } from '../extensions/load.js';
import type { Extension } from '../extensions/types.js';
import { loadIdentities } from '../oidc/providers.js';
import { MemoryCounters } from '../security/rate-limit.js';
import type { RedisStore } from '../session/redis-store.js';
import { consoleLog } from '../web/console-log.js';
import { startOnce } from '../web/start-once.js';
import { fetchTransports } from '../web/fetch-transport.js';
import { FetchGatehouse } from '../web/handler.js';
import {
  isAlbEvent,
  refusal,
  requestOf,
  resultOf,
  type AlbResult,
  type HttpApiResult,
  type LambdaHttpEvent,
} from './events.js';
import { secretsFromExtension } from './secrets.js';

export interface LambdaOptions {
  /** The configuration document (YAML or JSON); default: the file or variable above. */
  config?: string;
  /** Where `${NAME}`s come from (default: process.env). */
  env?: Record<string, string | undefined>;
  /** Where log lines go (default: standard output, which CloudWatch collects). */
  write?: (line: string) => void;
  /** Extensions, given as code (bundled with the function). */
  extensions?: readonly Extension[];
  /** The largest streamed answer, in bytes: AWS's 200 MiB by default; lower it to cap what one call may cost. */
  maxStreamedBytes?: number;
}

/** What a streaming function URL carries at most (AWS: 200 MB; the first 6 MB at full speed, then 2 MB/s). */
const STREAMED_LIMIT = 200 * 1024 * 1024;

/** The answer to one event: the Response Gatehouse gives, or the 500 it gives when it cannot start. */
type Answer = (event: LambdaHttpEvent) => Promise<Response>;

function answerer(options: LambdaOptions): Answer {
  const gatehouse = startOnce(() => start(options), options.write);
  return async (event) => {
    const ready = await gatehouse();
    if (ready instanceof Response) return ready;
    const { request, target, ip } = requestOf(event);
    return ready.fetch(request, ip, target);
  };
}

/** For API Gateway HTTP APIs, ALBs and buffered function URLs: the whole answer in the result. */
export function createHandler(
  options: LambdaOptions = {},
): (event: LambdaHttpEvent) => Promise<HttpApiResult | AlbResult> {
  const answer = answerer(options);
  return async (event) => resultOf(event, await answer(event));
}

interface ResponseStream extends NodeJS.WritableStream {
  end(): this;
}
interface StreamingRuntime {
  streamifyResponse(handler: (event: unknown, stream: ResponseStream) => Promise<void>): unknown;
  HttpResponseStream: {
    from(
      stream: ResponseStream,
      metadata: { statusCode: number; headers: Record<string, string>; cookies: string[] },
    ): ResponseStream;
  };
}

/**
 * For function URLs with InvokeMode RESPONSE_STREAM: headers first, then the body as the upstream
 * sends it (server-sent events arrive as they are written), past the 6 MB of a buffered answer.
 */
export function createStreamingHandler(options: LambdaOptions = {}): unknown {
  const runtime = (globalThis as { awslambda?: StreamingRuntime }).awslambda;
  if (!runtime) throw new Error('response streaming needs the Lambda Node.js runtime (awslambda.streamifyResponse)');
  const answer = answerer(options);
  return runtime.streamifyResponse(async (event, responseStream) => {
    const lambdaEvent = event as LambdaHttpEvent;
    if (isAlbEvent(lambdaEvent)) throw new Error('load balancers do not stream: use createHandler()');
    const limit = options.maxStreamedBytes ?? STREAMED_LIMIT;
    let response = await answer(lambdaEvent);
    // Known to be too large: a clear error now rather than an answer the platform would cut short.
    if (Number(response.headers.get('content-length') ?? 0) > limit) {
      await response.body?.cancel().catch(() => {});
      response = refusal(response, tooLarge(limit));
    }
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      if (name !== 'set-cookie') headers[name] = value;
    });
    const metadata = { statusCode: response.status, headers, cookies: response.headers.getSetCookie() };
    const stream = runtime.HttpResponseStream.from(responseStream, metadata);
    if (!response.body) return void stream.end();
    // Of unknown length and growing past the limit: the stream fails, so the client sees a broken
    // answer (no final chunk), never a complete-looking one.
    await pipeline(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream), capped(limit), stream);
  });
}

function tooLarge(limit: number): GatehouseError {
  return new GatehouseError('response_too_large', { detail: `answer over ${limit} bytes, the streaming limit` });
}

/** Passes bytes through until `limit`, then fails. */
function capped(limit: number): Transform {
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      done(size > limit ? tooLarge(limit) : null, size > limit ? undefined : chunk);
    },
  });
}

async function start(options: LambdaOptions): Promise<FetchGatehouse> {
  const env = { ...(options.env ?? process.env) };
  if (env.GATEHOUSE_SECRETS_ID) Object.assign(env, await secretsFromExtension(env.GATEHOUSE_SECRETS_ID, env));
  const config = loadRuntimeConfig(options.config ?? configText(env), 'lambda', env);
  const log = consoleLog(config.log.level, options.write);
  // Loaded only when used: the Redis client and undici add about 150 ms to every cold start.
  const store =
    config.session.store === 'cookie'
      ? undefined
      : (await import('../session/create-store.js')).createStore(config, log);
  const tlsFetch = needsTls(config) ? (await import('../node/tls-fetch.js')).undiciTlsFetch : undefined;
  await store?.connect?.(config.session.redis?.connectTimeout ?? 0).catch((error: unknown) => {
    log.error({ err: error }, 'session store not reachable at start; retrying in the background');
  });
  return new FetchGatehouse(config, {
    log,
    parts: {
      identities: await loadIdentities(config, tlsFetch),
      store,
      // Per execution environment, unless shared in Redis (rateLimit.store).
      counters: config.rateLimit.store === 'redis' ? (store as RedisStore) : new MemoryCounters(),
    },
    extensions: await loadExtensions(config, options.extensions),
    transports: fetchTransports({ tls: tlsFetch && { config, tlsFetch } }),
  });
}

/** Connections with a client certificate or extra CAs, to the provider or to an upstream. */
function needsTls(config: GatehouseConfig): boolean {
  const upstreams = [...config.routes, ...Object.values(config.upstreams)];
  return config.oidc.tls !== undefined || upstreams.some((upstream) => upstream.caFile !== undefined);
}

function configText(env: Record<string, string | undefined>): string {
  if (env.GATEHOUSE_CONFIG) return env.GATEHOUSE_CONFIG;
  const file = env.GATEHOUSE_CONFIG_FILE ?? join(env.LAMBDA_TASK_ROOT ?? process.cwd(), 'gatehouse.yaml');
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`]);
  }
}
