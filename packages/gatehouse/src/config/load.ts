/**
 * Loading: read the file (JSON or YAML), substitute ${ENV_VAR} references, validate against the
 * schema, check what the schema alone cannot (cross-field rules), derive the URLs Gatehouse needs,
 * and freeze the result. Every problem is reported at once, each naming its key path.
 */
import { readFileSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { oidcProblems, resolveOidcDefaults, type ResolvedOidcSettings } from './oidc-rules.js';
import { runtimeProblems, type Runtime } from './runtimes.js';
import { configSchema, isExchange, type ParsedConfig, type ParsedRoute, type TokenChoiceConfig } from './schema.js';

/** The effective configuration: parsed, with derived URLs filled in, frozen. */
/** A route with its defaults resolved. */
export type RouteConfig = ParsedRoute & { readonly requireSession: boolean };

export type GatehouseConfig = Omit<ParsedConfig, 'routes' | 'oidc'> & {
  readonly routes: readonly RouteConfig[];
  readonly oidc: Omit<ResolvedOidcSettings, 'backchannelLogout' | 'postLogoutRedirectUri'> & {
    readonly backchannelLogout: boolean;
    /** publicUrl + basePath + "/auth/callback"; never built from request headers. */
    readonly redirectUri: string;
    readonly postLogoutRedirectUri: string;
  };
  /** The origin of publicUrl, e.g. "https://app.example.com". */
  readonly publicOrigin: string;
};

const EFFECTIVE = Symbol('gatehouse.effectiveConfig');

/** True for a configuration that parseConfig/loadConfigFile already produced. */
export function isEffectiveConfig(value: unknown): value is GatehouseConfig {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[EFFECTIVE] === true;
}

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: string[], source = 'configuration') {
    super(`Invalid ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** Reads, substitutes, validates and freezes a configuration file. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): GatehouseConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError([`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`], file);
  }
  const format = extname(file) === '.json' ? 'JSON' : 'YAML';
  return loadConfigText(text, { format, source: file, baseDir: dirname(resolve(file)), env });
}

/**
 * A configuration given as text (YAML, or JSON, which YAML also reads), e.g. a container's
 * GATEHOUSE_CONFIG variable. `${NAME}` references are substituted from `env` just as in a file;
 * relative paths are relative to `baseDir`.
 */
export function loadConfigText(
  text: string,
  options: { format?: 'JSON' | 'YAML'; source: string; baseDir?: string; env?: NodeJS.ProcessEnv; runtime?: Runtime },
): GatehouseConfig {
  const { format = 'YAML', source, baseDir = process.cwd(), env = process.env, runtime } = options;
  let document: unknown;
  try {
    document = format === 'JSON' ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError([`not valid ${format}: ${(error as Error).message}`], source);
  }
  const problems: string[] = [];
  const substituted = substituteEnv(document, env, '', problems);
  if (problems.length > 0) throw new ConfigError(problems, source);
  return parseConfig(resolveRelativePaths(substituted, baseDir), source, runtime);
}

/**
 * Validates a configuration object (as a user would write it) for the runtime it will run on and
 * returns the effective config.
 */
export function parseConfig(input: unknown, source?: string, runtime: Runtime = 'node'): GatehouseConfig {
  const unsupported = runtimeProblems(input, runtime);
  if (unsupported.length > 0) throw new ConfigError(unsupported, source);
  const result = configSchema.safeParse(input);
  if (!result.success) throw new ConfigError(result.error.issues.flatMap(describeIssue), source);
  const oidc = resolveOidcDefaults(result.data.oidc);
  const problems = [
    ...crossFieldProblems(result.data),
    ...oidcProblems(oidc),
    ...boundTokenProblems(result.data, oidc),
  ];
  if (problems.length > 0) throw new ConfigError(problems, source);
  return deepFreeze(withDerivedValues(result.data, oidc));
}

/** Keys naming files, by where they sit: "a.b" in an object, "a[].b" in each item of a list, "a.*.b" in each named entry. */
const FILE_KEYS = [
  'static.root',
  'oidc.signingKeys[].file',
  'oidc.signingKeys[].certFile',
  'oidc.decryptionKeys[].file',
  'oidc.decryptionKeys[].certFile',
  'oidc.tls.certFile',
  'oidc.tls.keyFile',
  'oidc.tls.caFile',
  'routes[].caFile',
  'upstreams.*.caFile',
  'session.redis.tlsCaFile',
];

/** Paths in a config file are relative to the file, not to wherever the process was started. */
function resolveRelativePaths(document: unknown, baseDir: string): unknown {
  if (!document || typeof document !== 'object') return document;
  let doc = document as Record<string, unknown>;
  for (const key of FILE_KEYS) {
    doc = mapAt(doc, key.split(/\.|(?=\[\])/), (value) =>
      typeof value === 'string' && !isAbsolute(value) ? resolve(baseDir, value) : value,
    ) as Record<string, unknown>;
  }
  doc = { ...doc };
  // "./x.js" and "../x.js" are files next to the configuration; anything else is a package name.
  if (Array.isArray(doc.extensions)) {
    doc.extensions = doc.extensions.map((entry: unknown) =>
      typeof entry === 'string' && /^\.\.?\//.test(entry) ? resolve(baseDir, entry) : entry,
    );
  }
  return doc;
}

const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

/** Replaces ${NAME} in every string value; "$${" escapes a literal "${". */
function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, path: string, problems: string[]): unknown {
  if (typeof value === 'string') {
    return value
      .split('$${')
      .map((part) =>
        part.replace(ENV_REF, (_match, name: string) => {
          const found = env[name];
          if (found === undefined) {
            problems.push(`${path || '(root)'}: environment variable ${name} is not set`);
            return '';
          }
          return found;
        }),
      )
      .join('${');
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, `${path}[${i}]`, problems));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, path ? `${path}.${k}` : k, problems)]),
    );
  }
  return value;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, part) => {
    if (typeof part === 'number') return `${out}[${part}]`;
    return out ? `${out}.${String(part)}` : String(part);
  }, '');
}

/** One schema problem as "key.path: what is expected" lines. */
export function describeIssue(issue: z.core.$ZodIssue): string[] {
  const at = formatPath(issue.path) || '(root)';
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => `${formatPath([...issue.path, key])}: unknown key`);
  }
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) {
    return [`${at}: is required (expected ${issue.expected})`];
  }
  if (issue.code === 'invalid_type') {
    return [`${at}: ${issue.message.replace(/^Invalid input: /, '')}`];
  }
  return [`${at}: ${issue.message}`];
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
/** Parameters Gatehouse sets itself; a configured value would weaken or break the flow. */
const RESERVED_AUTH_PARAMS = new Set([
  'client_id',
  'redirect_uri',
  'response_type',
  'response_mode',
  'scope',
  'state',
  'nonce',
  'code_challenge',
  'code_challenge_method',
  'request',
  'request_uri',
  'dpop_jkt',
]);

function crossFieldProblems(config: ParsedConfig): string[] {
  const problems: string[] = [];
  const publicUrl = new URL(config.publicUrl);
  if (publicUrl.pathname !== '/' || publicUrl.search || publicUrl.hash) {
    problems.push('publicUrl: expected an origin only, such as "https://app.example.com"');
  }
  if (publicUrl.protocol !== 'https:' && !LOOPBACK.has(publicUrl.hostname)) {
    problems.push('publicUrl: expected https (http is accepted only for localhost)');
  }
  const issuer = new URL(config.oidc.issuer);
  if (issuer.protocol === 'http:' && !config.oidc.allowInsecureHttp) {
    problems.push('oidc.issuer: expected https (set oidc.allowInsecureHttp for local development only)');
  }
  if (config.oidc.allowInsecureHttp && process.env.NODE_ENV === 'production') {
    problems.push('oidc.allowInsecureHttp: not allowed when NODE_ENV=production');
  }
  for (const key of Object.keys(config.oidc.authorizationParams)) {
    if (RESERVED_AUTH_PARAMS.has(key)) {
      problems.push(`oidc.authorizationParams.${key}: set by Gatehouse itself and cannot be configured`);
    }
  }
  problems.push(...storeProblems(config), ...gatewayProblems(config));
  if (config.rateLimit.store === 'redis' && config.session.store !== 'redis') {
    problems.push('rateLimit.store: "redis" uses the session store\'s Redis; set session.store to "redis" too');
  }
  for (const [i, origin] of config.security.allowedOrigins.entries()) {
    const url = new URL(origin);
    if (url.origin !== origin.replace(/\/$/, ''))
      problems.push(`security.allowedOrigins[${i}]: expected an origin only`);
  }
  const seen = new Set<string>();
  config.routes.forEach((route, i) => {
    if (seen.has(route.path)) problems.push(`routes[${i}].path: "${route.path}" is configured twice`);
    seen.add(route.path);
    if (route.path === '/auth' || route.path.startsWith('/auth/')) {
      problems.push(`routes[${i}].path: "/auth" is reserved for Gatehouse's own endpoints`);
    }
    const upstream = new URL(route.upstream);
    if (upstream.search || upstream.hash || upstream.username || upstream.password) {
      problems.push(`routes[${i}].upstream: expected a base URL without query, fragment or credentials`);
    }
    if (route.requireSession === false && (route.token === 'user' || isExchange(route.token))) {
      problems.push(`routes[${i}].requireSession: a route with a user's token needs a session`);
    }
    problems.push(...tokenProblems(route, `routes[${i}]`));
    if (route.authorize && route.requireSession === false) {
      problems.push(`routes[${i}].requireSession: a route with authorize rules needs a session`);
    }
  });
  for (const [name, upstream] of Object.entries(config.upstreams)) {
    const url = new URL(upstream.url);
    if (url.search || url.hash || url.username || url.password) {
      problems.push(`upstreams.${name}.url: expected a base URL without query, fragment or credentials`);
    }
    problems.push(...tokenProblems(upstream, `upstreams.${name}`));
  }
  return problems;
}

/** What `scope` and `resource` need of the token kind they go with. */
function tokenProblems(target: { token: TokenChoiceConfig; scope?: string; resource?: string }, at: string): string[] {
  const { token, scope, resource } = target;
  const problems: string[] = [];
  if (resource !== undefined && (token === 'none' || isExchange(token))) {
    problems.push(`${at}.resource: not used with this token (an exchange names its resource in token.exchange)`);
  }
  if (scope !== undefined && resource === undefined && token !== 'client' && token !== 'user-or-client') {
    problems.push(`${at}.scope: only used with token "client" or "user-or-client", or with a resource`);
  }
  return problems;
}

/** Certificate-bound tokens (RFC 8705 §3) prove nothing without TLS: every upstream that gets one must be https. */
function boundTokenProblems(config: ParsedConfig, oidc: ResolvedOidcSettings): string[] {
  if (oidc.senderConstraint !== 'mtls') return [];
  const plain = (url: string, token: TokenChoiceConfig) => token !== 'none' && new URL(url).protocol !== 'https:';
  return [
    ...config.routes.flatMap((route, i) =>
      plain(route.upstream, route.token)
        ? [`routes[${i}].upstream: senderConstraint "mtls" needs an https upstream`]
        : [],
    ),
    ...Object.entries(config.upstreams).flatMap(([name, upstream]) =>
      plain(upstream.url, upstream.token)
        ? [`upstreams.${name}.url: senderConstraint "mtls" needs an https upstream`]
        : [],
    ),
  ];
}

/** The gateway listener hands out tokens: it must not face browsers, and its sessions must live server-side. */
function gatewayProblems(config: ParsedConfig): string[] {
  const { gateway } = config;
  if (!gateway.enabled) return [];
  const problems: string[] = [];
  if (!LOOPBACK.has(gateway.host) && gateway.host !== '::1' && gateway.secret === undefined) {
    problems.push('gateway.secret: is required when gateway.host is not a loopback address');
  }
  if (config.session.store === 'cookie') {
    problems.push(
      'gateway.enabled: needs server-side sessions (a gateway cannot pass re-sealed cookies back); use store "redis" or "memory"',
    );
  }
  if (gateway.port !== 0 && (gateway.port === config.server.port || gateway.port === config.admin.port)) {
    problems.push('gateway.port: must differ from server.port and admin.port');
  }
  return problems;
}

/** A store must be reachable, and a configuration must not ask for what its store cannot do. */
function storeProblems(config: ParsedConfig): string[] {
  const { store, redis } = config.session;
  const problems: string[] = [];
  if (store === 'redis') {
    if (!redis) return ['session.redis: is required when session.store is "redis"'];
    if (redis.mode === 'standalone' && !redis.url) problems.push('session.redis.url: is required in standalone mode');
    if (redis.mode !== 'standalone' && redis.nodes.length === 0) {
      problems.push(`session.redis.nodes: at least one node is required in ${redis.mode} mode`);
    }
    if (redis.mode === 'sentinel' && !redis.sentinelName)
      problems.push('session.redis.sentinelName: is required in sentinel mode');
  } else if (redis) {
    problems.push('session.redis: only used when session.store is "redis"');
  }
  if (store === 'cookie') {
    // These need a server-side record of every session; a sealed cookie is not one.
    if (config.oidc.backchannelLogout === true) {
      problems.push('oidc.backchannelLogout: needs server-side sessions; not possible with session.store "cookie"');
    }
    if (config.admin.token !== undefined) {
      problems.push('admin.token: session admin needs server-side sessions; not possible with session.store "cookie"');
    }
  }
  return problems;
}

/** A copy of `value` with `change` applied at `path` ("[]": every item of a list, "*": every entry of an object). */
function mapAt(value: unknown, path: string[], change: (value: unknown) => unknown): unknown {
  if (path.length === 0) return change(value);
  if (!value || typeof value !== 'object') return value;
  const [head, ...rest] = path;
  if (head === '[]') return Array.isArray(value) ? value.map((item) => mapAt(item, rest, change)) : value;
  const record = value as Record<string, unknown>;
  if (head === '*') return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, mapAt(v, rest, change)]));
  if (!(head! in record)) return value;
  return { ...record, [head!]: mapAt(record[head!], rest, change) };
}

function withDerivedValues(config: ParsedConfig, oidc: ResolvedOidcSettings): GatehouseConfig {
  const publicOrigin = new URL(config.publicUrl).origin;
  const effective = {
    ...config,
    security: { ...config.security, allowedOrigins: config.security.allowedOrigins.map((o) => new URL(o).origin) },
    routes: config.routes.map((route) => ({
      ...route,
      requireSession: route.requireSession ?? (route.token !== 'user-or-client' || route.authorize !== undefined),
    })),
    publicUrl: `${publicOrigin}/`,
    publicOrigin,
    oidc: {
      ...oidc,
      redirectUri: `${publicOrigin}${config.basePath}/auth/callback`,
      backchannelLogout: config.oidc.backchannelLogout ?? config.session.store !== 'cookie',
      postLogoutRedirectUri: config.oidc.postLogoutRedirectUri ?? `${publicOrigin}/`,
    },
  };
  Object.defineProperty(effective, EFFECTIVE, { value: true });
  return effective;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
