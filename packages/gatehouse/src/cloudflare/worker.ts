/**
 * Gatehouse as a Cloudflare Worker (docs/deploy-cloudflare.md): the configuration document in the
 * GATEHOUSE_CONFIG variable (`${NAME}` from the Worker's vars and secrets), sessions in
 * GatehouseSessions Durable Objects or sealed cookies, the SPA from Workers static assets, the client's
 * address from CF-Connecting-IP (set by Cloudflare's edge, never by the browser).
 *
 *   import { createWorker, GatehouseSessions } from 'gatehouse/cloudflare';
 *   export default createWorker();
 *   export { GatehouseSessions };
 */
import { loadRuntimeConfig } from '../config/runtimes.js';
import { ConfigError } from '../config/load.js';
import { loadExtensions } from '../extensions/load.js';
import type { Extension } from '../extensions/types.js';
import { loadIdentities } from '../oidc/providers.js';
import { MemoryCounters } from '../security/rate-limit.js';
import { consoleLog } from '../web/console-log.js';
import { startOnce } from '../web/start-once.js';
import { fetchTransports } from '../web/fetch-transport.js';
import { FetchGatehouse, type StaticFiles } from '../web/handler.js';
import { DurableObjectStore, type SessionsNamespace } from './durable-store.js';

export interface GatehouseEnv {
  /** The configuration document (YAML or JSON), as for the Node server, unless given to createWorker. */
  GATEHOUSE_CONFIG?: string;
  /** The GatehouseSessions binding, for session.store "durable-object". */
  GATEHOUSE_SESSIONS?: SessionsNamespace;
  /** Workers static assets: the SPA build. */
  ASSETS?: StaticFiles;
  [name: string]: unknown;
}

export interface WorkerOptions {
  /**
   * The configuration document itself, e.g. a YAML file bundled with the Worker (a Text module
   * rule in wrangler.toml); default: the GATEHOUSE_CONFIG variable. A variable holds at most 5 KB.
   */
  config?: string;
  /** Where log lines go (default: the console, which Workers Logs collects). */
  write?: (line: string) => void;
  /** Extensions, given as code: a Worker is one bundle and loads no modules from files. */
  extensions?: readonly Extension[];
}

export function createWorker(options: WorkerOptions = {}): {
  fetch(request: Request, env: GatehouseEnv): Promise<Response>;
} {
  // One Gatehouse per isolate, built on its first request (a Worker's bindings arrive with requests).
  const gatehouse = startOnce((env: GatehouseEnv) => start(env, options), options.write ?? console.log);
  return {
    async fetch(request, env) {
      const ready = await gatehouse(env);
      if (ready instanceof Response) return ready;
      return ready.fetch(request, request.headers.get('cf-connecting-ip') ?? '0.0.0.0');
    },
  };
}

async function start(env: GatehouseEnv, options: WorkerOptions): Promise<FetchGatehouse> {
  const text = options.config ?? env.GATEHOUSE_CONFIG;
  if (typeof text !== 'string') {
    throw new ConfigError(['GATEHOUSE_CONFIG: the Worker has no such variable (wrangler.toml [vars])']);
  }
  const config = loadRuntimeConfig(text, 'cloudflare', env, options.config ? 'the bundled configuration' : undefined);
  if (config.session.store === 'durable-object' && !env.GATEHOUSE_SESSIONS) {
    throw new ConfigError(['session.store: "durable-object" needs the GATEHOUSE_SESSIONS binding (wrangler.toml)']);
  }
  const log = consoleLog(config.log.level, options.write);
  return new FetchGatehouse(config, {
    log,
    parts: {
      identities: await loadIdentities(config),
      store:
        config.session.store === 'durable-object'
          ? new DurableObjectStore(env.GATEHOUSE_SESSIONS!, config.session.secrets)
          : undefined,
      // Per isolate: Workers share no memory. Cloudflare's rate limiting rules give global per-IP limits.
      counters: new MemoryCounters(),
    },
    assets: env.ASSETS,
    transports: fetchTransports({ platformCancels: true }),
    extensions: await loadExtensions(config, options.extensions),
  });
}
