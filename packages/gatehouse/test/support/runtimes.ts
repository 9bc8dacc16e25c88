/**
 * One stack on any runtime Gatehouse runs on: the Node server, a Cloudflare Worker in workerd, or
 * the Lambda handler behind a function URL (lambda.ts, streaming). The same provider, upstream and
 * configuration document, with only what the runtime itself demands changed (no listener settings,
 * its own shared session store: Redis on Node, Durable Objects on Workers), so one suite can run its
 * cases against each.
 */
import { fileURLToPath } from 'node:url';
import type { GatehouseConfigInput } from '../../src/config/schema.js';
import { summaryExtension } from '../fixtures/summary-extension.js';
import { freePort, stackParts, startStack, type StackOptions, type StackParts } from './stack.js';
import { REDIS_URL, testPrefix } from './redis.js';
import { startLambdaBridge, type LambdaBridge } from './lambda.js';
import { startWorker } from './workerd.js';

export const RUNTIMES = ['node', 'workerd', 'lambda'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];

export interface RuntimeStack extends Omit<StackParts, 'port'> {
  runtime: RuntimeName;
  /** The URL of a second instance sharing the sessions (its own process memory, the same store). */
  peer(): Promise<string>;
  close(): Promise<void>;
}

/** The extensions every runtime serves (fixtures/summary-extension.ts), calling the upstream as "orders". */
const EXTENSIONS_MODULE = fileURLToPath(new URL('../fixtures/summary-extension.ts', import.meta.url));
function withOrders(config: GatehouseConfigInput): GatehouseConfigInput {
  const upstream = new URL(config.routes![0]!.upstream).origin;
  return { ...config, upstreams: { orders: { url: upstream }, ...config.upstreams } };
}

export interface RuntimeStackOptions extends StackOptions {
  /** An SPA build to serve: the static root on Node, the Worker's static assets on workerd. */
  spa?: string;
}

export async function startRuntimeStack(
  runtime: RuntimeName,
  options: RuntimeStackOptions = {},
): Promise<RuntimeStack> {
  const spa = (d: GatehouseConfigInput) =>
    options.spa && runtime === 'node' ? { ...d, static: { ...d.static, root: options.spa } } : d;
  const gatehouse = (d: GatehouseConfigInput) => spa(withOrders(options.gatehouse ? options.gatehouse(d) : d));
  if (runtime === 'node') {
    // Several instances share sessions through Redis, as in production.
    const stack = await startStack({
      ...options,
      gatehouse: (d) => inRedis(gatehouse(d)),
      extensions: [summaryExtension],
    });
    return { ...stack, runtime, peer: async () => (await stack.peer()).url };
  }
  const parts = await stackParts({ ...options, gatehouse });
  if (runtime === 'lambda') return onLambda(parts);
  const config = forWorkers(parts.config);
  const worker = await startWorker({
    port: parts.port,
    peerPort: await freePort(),
    config,
    extensions: EXTENSIONS_MODULE,
    assets: options.spa,
  }).catch(async (error: unknown) => {
    await Promise.all([parts.idp.close(), parts.upstream.close()]);
    throw error;
  });
  return {
    ...parts,
    config,
    runtime,
    peer: async () => {
      if (!worker.peerUrl) throw new Error('no second instance beside static assets');
      return worker.peerUrl;
    },
    close: async () => {
      await worker.stop();
      await Promise.all([parts.idp.close(), parts.upstream.close()]);
    },
  };
}

/** Behind a function URL, streaming; a second "execution environment" (its own Gatehouse) as the peer; sessions in Redis. */
async function onLambda(parts: StackParts): Promise<RuntimeStack> {
  const { server: _server, admin: _admin, ...rest } = inRedis(parts.config);
  const config = { ...rest };
  const options = { config: JSON.stringify(config), env: {}, write: () => {}, extensions: [summaryExtension] };
  const bridge = await startLambdaBridge('function-url-streaming', { ...options, port: parts.port });
  const peers: LambdaBridge[] = [];
  return {
    ...parts,
    config,
    runtime: 'lambda',
    peer: async () => {
      const peer = await startLambdaBridge('function-url-streaming', options);
      peers.push(peer);
      return peer.url;
    },
    close: async () => {
      await Promise.all([bridge, ...peers].map((b) => b.stop()));
      await Promise.all([parts.idp.close(), parts.upstream.close()]);
    },
  };
}

function inRedis(config: GatehouseConfigInput): GatehouseConfigInput {
  const redis = { url: REDIS_URL, keyPrefix: testPrefix() };
  return { ...config, session: { store: 'redis', redis, ...config.session } };
}

/** The document as a Worker takes it: no listener settings, sessions in Durable Objects unless it names its store. */
function forWorkers(config: GatehouseConfigInput): GatehouseConfigInput {
  const { server: _server, admin: _admin, ...rest } = config;
  return { ...rest, session: { store: 'durable-object', ...config.session } };
}
