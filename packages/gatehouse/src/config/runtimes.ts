/**
 * One configuration document for every runtime; some keys only make sense on some. On Cloudflare
 * Workers and AWS Lambda there is no listener to bind, no file system for keys, no process that
 * lives long enough for in-memory sessions; a key that cannot work there is refused by name, with
 * what to use instead, rather than silently ignored.
 */
import { loadConfigText, type GatehouseConfig } from './load.js';

export type Runtime = 'node' | 'cloudflare' | 'lambda';

interface Rule {
  /** "a.b", "a[].b" (each item of a list), "a.*.b" (each named entry). */
  path: string;
  /** Refused only for these values (default: any value). */
  refused?: (value: unknown) => boolean;
  why: string;
}

const NO_LISTENER: Rule[] = [
  ...['host', 'port', 'trustProxy', 'maxHeaderSize', 'shutdownTimeout'].map((key) => ({
    path: `server.${key}`,
    why: 'the platform owns the listener',
  })),
  { path: 'admin', why: "there is no admin listener; use the platform's health checks, logs and metrics" },
  { path: 'gateway', why: 'gateway mode needs a listener of its own (run Gatehouse on Node for it)' },
  { path: 'tracing', why: 'not available on this runtime yet' },
  { path: 'apps', why: 'one app per deployment here: deploy one for each app' },
  { path: 'static.root', why: 'the platform serves the SPA build (see its deploy guide)' },
  { path: 'static.precompressed', why: 'the platform serves the SPA build (see its deploy guide)' },
  { path: 'routes[].websocket', refused: (v) => v === true, why: 'WebSocket routes need the Node server' },
  {
    path: 'extensions',
    why: 'extension modules are not loaded from files here: pass them as code (the extensions option of createWorker / createHandler)',
  },
];

const NO_FILES: Rule[] = [
  'oidc.signingKeys[].file',
  'oidc.signingKeys[].certFile',
  'oidc.decryptionKeys[].file',
  'oidc.decryptionKeys[].certFile',
].map((path) => ({ path, why: 'there is no file system: give the key itself in "key" (from a secret)' }));

const NO_CLIENT_TLS: Rule[] = [
  { path: 'oidc.tls', why: 'this runtime cannot present client certificates or trust extra CAs' },
  { path: 'routes[].caFile', why: 'this runtime trusts the public CAs only' },
  { path: 'upstreams.*.caFile', why: 'this runtime trusts the public CAs only' },
  {
    path: 'oidc.senderConstraint',
    refused: (v) => v === 'mtls' || v === 'dpop',
    why: 'sender-constrained tokens need the Node server for now',
  },
  {
    path: 'oidc.profile',
    refused: (v) => v === 'fapi2',
    why: 'FAPI 2.0 needs DPoP or mTLS, which need the Node server for now',
  },
];

/** A provider of oidc.providers may set what oidc may: the same refusals apply to it. */
const alsoForProviders = (rules: Rule[]): Rule[] => [
  ...rules,
  ...rules
    .filter((rule) => rule.path.startsWith('oidc.'))
    .map((rule) => ({ ...rule, path: rule.path.replace('oidc.', 'oidc.providers.*.') })),
];

const RULES: Record<Exclude<Runtime, 'node'>, Rule[]> = {
  cloudflare: [
    ...NO_LISTENER,
    ...alsoForProviders([...NO_FILES, ...NO_CLIENT_TLS]),
    { path: 'session.redis', why: 'Workers cannot reach Redis: use session.store "durable-object" or "cookie"' },
    { path: 'session.memory', why: 'an isolate\'s memory is not a session store: use "durable-object" or "cookie"' },
    { path: 'rateLimit.store', refused: (v) => v === 'redis', why: 'Workers cannot reach Redis' },
  ],
  lambda: [
    ...NO_LISTENER,
    { path: 'session.memory', why: 'a Lambda instance\'s memory is not a session store: use "redis" or "cookie"' },
  ],
};

/** The session stores each runtime has; the first is not a default: the document must name one. */
const STORES: Record<Runtime, readonly string[]> = {
  node: ['memory', 'redis', 'cookie'],
  cloudflare: ['durable-object', 'cookie'],
  lambda: ['redis', 'cookie'],
};

/** The problems of `document` (as written, after ${ENV} substitution) on `runtime`, each naming its key. */
export function runtimeProblems(document: unknown, runtime: Runtime): string[] {
  const problems: string[] = [];
  const name = runtime === 'cloudflare' ? 'Cloudflare Workers' : 'AWS Lambda';
  if (runtime !== 'node') {
    for (const rule of RULES[runtime]) {
      for (const [path, value] of valuesAt(document, rule.path)) {
        if (!rule.refused || rule.refused(value)) problems.push(`${path}: not on ${name}: ${rule.why}`);
      }
    }
  }
  const store = (document as { session?: { store?: unknown } } | undefined)?.session?.store;
  if (runtime !== 'node' && !STORES[runtime].includes(store as string)) {
    const named = store === undefined ? '' : `${JSON.stringify(store)} is not on ${name}: `;
    problems.push(`session.store: ${named}choose ${STORES[runtime].map((s) => `"${s}"`).join(' or ')}`);
  } else if (runtime === 'node' && store === 'durable-object') {
    problems.push('session.store: "durable-object" is for Cloudflare Workers: use "memory", "redis" or "cookie"');
  }
  return problems;
}

/**
 * A configuration as text (YAML or JSON) for a fetch runtime: `${NAME}` substituted from `env` (a
 * Worker's bindings, a Lambda's environment), checked for `runtime`, then validated as everywhere.
 */
export function loadRuntimeConfig(
  text: string,
  runtime: Exclude<Runtime, 'node'>,
  env: Record<string, unknown>,
  source = 'GATEHOUSE_CONFIG',
): GatehouseConfig {
  const strings = Object.fromEntries(Object.entries(env).filter(([, v]) => typeof v === 'string')) as Record<
    string,
    string
  >;
  return loadConfigText(text, { source, baseDir: '/', env: strings, runtime });
}

/** Every value at a rule's path, with the concrete path ("routes[2].caFile"). */
function valuesAt(document: unknown, path: string): [string, unknown][] {
  let found: [string, unknown][] = [['', document]];
  for (const part of path.split('.')) {
    const next: [string, unknown][] = [];
    const each = part.endsWith('[]');
    const key = each ? part.slice(0, -2) : part;
    for (const [at, value] of found) {
      if (!value || typeof value !== 'object') continue;
      const here = (name: string) => (at ? `${at}.${name}` : name);
      if (key === '*') {
        for (const [name, child] of Object.entries(value)) next.push([here(name), child]);
        continue;
      }
      const child = (value as Record<string, unknown>)[key];
      if (child === undefined) continue;
      if (each && Array.isArray(child)) child.forEach((item, i) => next.push([`${here(key)}[${i}]`, item]));
      else if (!each) next.push([here(key), child]);
    }
    found = next;
  }
  return found;
}
