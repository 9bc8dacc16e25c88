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
import {
  configSchema,
  DEFAULT_PROVIDER,
  isExchange,
  MAIN_APP,
  oidcSchema,
  PROCESS_KEYS,
  type ParsedConfig,
  type ParsedRoute,
  type TokenChoiceConfig,
} from './schema.js';

/** A route with its defaults resolved. */
export type RouteConfig = ParsedRoute & { readonly requireSession: boolean };

/** One provider's settings, every default settled: `oidc` itself ("default") or one of `oidc.providers`. */
export type OidcSettings = Omit<ResolvedOidcSettings, 'backchannelLogout' | 'postLogoutRedirectUri' | 'providers'> & {
  /** "default" for `oidc` itself, else its key in `oidc.providers`. */
  readonly name: string;
  readonly backchannelLogout: boolean;
  /** publicUrl + basePath + "/auth/callback"; never built from request headers. */
  readonly redirectUri: string;
  readonly postLogoutRedirectUri: string;
};

/** The effective configuration of one app: parsed, with derived URLs filled in, frozen. */
export type GatehouseConfig = Omit<ParsedConfig, 'routes' | 'oidc' | 'apps'> & {
  readonly routes: readonly RouteConfig[];
  /** The default provider (the settings under `oidc`). */
  readonly oidc: OidcSettings;
  /** Every provider, the default first. */
  readonly providers: readonly OidcSettings[];
  /** "main" for the top level, else its key in `apps`. */
  readonly app: string;
  /** Where the app lives on its host ("" for the whole host); basePath already starts with it. */
  readonly pathPrefix: string;
  /** The other apps of the process (on the top level's configuration only). */
  readonly apps: readonly GatehouseConfig[];
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
  const main = parseApp(input, MAIN_APP, '', runtime);
  if ('problems' in main) throw new ConfigError(main.problems, source);
  const problems: string[] = [];
  const apps: GatehouseConfig[] = [];
  const { apps: _apps, ...shared } = input as Record<string, unknown>;
  for (const [name, overrides] of Object.entries(main.parsed.apps)) {
    const at = `apps.${name}`;
    const misplaced = [...PROCESS_KEYS, 'apps'].filter((key) => key in overrides);
    if (misplaced.length > 0) {
      problems.push(...misplaced.map((key) => `${at}.${key}: set once for the whole process, at the top level`));
      continue;
    }
    const { pathPrefix, ...own } = overrides;
    const app = parseApp(mergeConfig(shared, own), name, pathPrefix ?? '', runtime);
    if ('problems' in app) problems.push(...app.problems.map((problem) => `${at}.${problem}`));
    else apps.push(app.config);
  }
  problems.push(...appProblems(main.config, apps));
  if (problems.length > 0) throw new ConfigError(problems, source);
  return effective({ ...main.config, apps });
}

/** One app's configuration (the top level, or an app's keys merged over it), validated. */
function parseApp(
  input: unknown,
  name: string,
  pathPrefix: string,
  runtime: Runtime,
): { parsed: ParsedConfig; config: GatehouseConfig } | { problems: string[] } {
  const result = configSchema.safeParse(input);
  if (!result.success) return { problems: result.error.issues.flatMap(describeIssue) };
  const parsed = result.data;
  const providers = parseProviders(parsed, (input as { oidc: Record<string, unknown> }).oidc, runtime);
  if ('problems' in providers) return providers;
  const problems = [
    ...crossFieldProblems(parsed),
    ...providers.flatMap((provider) => providerProblems(parsed, provider)),
    ...sharedIssuerProblems(providers),
    ...boundTokenProblems(parsed, providers),
  ];
  if (problems.length > 0) return { problems };
  return { parsed, config: withDerivedValues(parsed, providers, name, pathPrefix) };
}

interface NamedProvider {
  name: string;
  settings: ResolvedOidcSettings;
}

/** `oidc` itself and each of `oidc.providers`, whose keys are merged over those of `oidc` (but issuer, clientId, clientSecret). */
function parseProviders(
  parsed: ParsedConfig,
  rawOidc: Record<string, unknown>,
  runtime: Runtime,
): NamedProvider[] | { problems: string[] } {
  const providers: NamedProvider[] = [{ name: DEFAULT_PROVIDER, settings: resolveOidcDefaults(parsed.oidc) }];
  const problems: string[] = [];
  // A registration's own identity is never inherited: each names its issuer, client id and secret.
  const { providers: _providers, issuer: _issuer, clientId: _clientId, clientSecret: _secret, ...shared } = rawOidc;
  for (const [name, overrides] of Object.entries(parsed.oidc.providers)) {
    const rename = renamedTo(`oidc.providers.${name}`);
    if ('providers' in overrides) {
      problems.push(`oidc.providers.${name}.providers: providers do not nest`);
      continue;
    }
    const merged = mergeConfig(shared, overrides);
    const refused = runtimeProblems({ oidc: overrides, session: { store: parsed.session.store } }, runtime);
    const result = oidcSchema.safeParse(merged);
    if (refused.length > 0 || !result.success) {
      problems.push(...refused.filter((p) => p.startsWith('oidc.')).map(rename));
      if (!result.success) {
        problems.push(...result.error.issues.flatMap(describeIssue).map((p) => `oidc.providers.${name}.${p}`));
      }
      continue;
    }
    providers.push({ name, settings: resolveOidcDefaults(result.data) });
  }
  return problems.length > 0 ? { problems } : providers;
}

/** A session is traced back to its provider by issuer (back-channel logout, session admin): one provider per issuer. */
function sharedIssuerProblems(providers: readonly NamedProvider[]): string[] {
  const normalised = (issuer: string) => issuer.replace(/\/$/, '');
  return providers.flatMap(({ name, settings }, i) => {
    const first = providers.find((p) => normalised(p.settings.issuer) === normalised(settings.issuer));
    return first && providers.indexOf(first) < i
      ? [`oidc.providers.${name}.issuer: the issuer of provider "${first.name}" already; each provider needs its own`]
      : [];
  });
}

/** Problems of one provider's settings, named where that provider is configured. */
function providerProblems(config: ParsedConfig, { name, settings }: NamedProvider): string[] {
  const problems = [...oidcFieldProblems(config, settings), ...oidcProblems(settings)];
  return name === DEFAULT_PROVIDER ? problems : problems.map(renamedTo(`oidc.providers.${name}`));
}

/** "oidc.x: ..." as "<at>.x: ...". */
const renamedTo = (at: string) => (problem: string) => problem.replace(/^oidc(?=[.:])/, at);

/** Named sets an app brings whole when it has its own: another frontend's providers and upstreams are its registrations, not ours. */
const TAKEN_WHOLE = new Set(['oidc.providers', 'upstreams']);

/**
 * Objects merged key by key (`over` wins); anything else, lists included, taken whole from `over`,
 * as are oidc.providers and upstreams. How apps inherit from the top level and providers from `oidc`.
 */
export function mergeConfig(base: unknown, over: unknown, path = ''): unknown {
  const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);
  if (!isObject(base) || !isObject(over) || TAKEN_WHOLE.has(path)) return over === undefined ? base : over;
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    merged[key] = mergeConfig(base[key], value, path ? `${path}.${key}` : key);
  }
  return merged;
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

/** The same keys in each provider of oidc.providers, and in each app. */
const ALL_FILE_KEYS = ((keys: string[]) => [...keys, ...keys.map((key) => `apps.*.${key}`)])([
  ...FILE_KEYS,
  ...FILE_KEYS.filter((key) => key.startsWith('oidc.')).map((key) => key.replace('oidc.', 'oidc.providers.*.')),
]);

/** Paths in a config file are relative to the file, not to wherever the process was started. */
function resolveRelativePaths(document: unknown, baseDir: string): unknown {
  if (!document || typeof document !== 'object') return document;
  let doc = document as Record<string, unknown>;
  for (const key of ALL_FILE_KEYS) {
    doc = mapAt(doc, key.split(/\.|(?=\[\])/), (value) =>
      typeof value === 'string' && !isAbsolute(value) ? resolve(baseDir, value) : value,
    ) as Record<string, unknown>;
  }
  // "./x.js" and "../x.js" are files next to the configuration; anything else is a package name.
  for (const key of ['extensions[]', 'apps.*.extensions[]']) {
    doc = mapAt(doc, key.split(/\.|(?=\[\])/), (entry) =>
      typeof entry === 'string' && /^\.\.?\//.test(entry) ? resolve(baseDir, entry) : entry,
    ) as Record<string, unknown>;
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
  // A bad name in a record (apps.<name>, upstreams.<name>): say what a name must be.
  if (issue.code === 'invalid_key') return [`${at}: ${issue.issues[0]?.message ?? 'not a valid name'}`];
  if (issue.code === 'invalid_type' && issue.message.endsWith('received undefined')) {
    return [`${at}: is required (expected ${issue.expected})`];
  }
  if (issue.code === 'invalid_type') {
    return [`${at}: ${issue.message.replace(/^Invalid input: /, '')}`];
  }
  return [`${at}: ${issue.message}`];
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);
/** Loopback names: these, and *.localhost (RFC 6761), which browsers resolve to loopback themselves. */
export const isLoopback = (hostname: string) => LOOPBACK.has(hostname) || hostname.endsWith('.localhost');
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
  if (publicUrl.protocol !== 'https:' && !isLoopback(publicUrl.hostname)) {
    problems.push('publicUrl: expected https (http is accepted only for localhost)');
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

/** One provider's settings checked against each other and the rest of the configuration. */
function oidcFieldProblems(config: ParsedConfig, oidc: ResolvedOidcSettings): string[] {
  const problems: string[] = [];
  const issuer = new URL(oidc.issuer);
  if (issuer.protocol === 'http:' && !oidc.allowInsecureHttp) {
    problems.push('oidc.issuer: expected https (set oidc.allowInsecureHttp for local development only)');
  }
  if (oidc.allowInsecureHttp && process.env.NODE_ENV === 'production') {
    problems.push('oidc.allowInsecureHttp: not allowed when NODE_ENV=production');
  }
  for (const key of Object.keys(oidc.authorizationParams)) {
    if (RESERVED_AUTH_PARAMS.has(key)) {
      problems.push(`oidc.authorizationParams.${key}: set by Gatehouse itself and cannot be configured`);
    }
  }
  // Back-channel logout needs a server-side record of every session; a sealed cookie is not one.
  if (config.session.store === 'cookie' && oidc.backchannelLogout === true) {
    problems.push('oidc.backchannelLogout: needs server-side sessions; not possible with session.store "cookie"');
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
function boundTokenProblems(config: ParsedConfig, providers: readonly NamedProvider[]): string[] {
  if (!providers.some(({ settings }) => settings.senderConstraint === 'mtls')) return [];
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
    // Session admin needs a server-side record of every session; a sealed cookie is not one.
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

function withDerivedValues(
  config: ParsedConfig,
  providers: readonly NamedProvider[],
  app: string,
  pathPrefix: string,
): GatehouseConfig {
  const publicOrigin = new URL(config.publicUrl).origin;
  const basePath = `${pathPrefix}${config.basePath}`;
  const settled = providers.map(({ name, settings }): OidcSettings => {
    const { providers: _providers, ...oidc } = settings;
    return {
      ...oidc,
      name,
      redirectUri: `${publicOrigin}${basePath}/auth/callback`,
      backchannelLogout: oidc.backchannelLogout ?? config.session.store !== 'cookie',
      postLogoutRedirectUri: oidc.postLogoutRedirectUri ?? `${publicOrigin}${pathPrefix}/`,
    };
  });
  const { redis } = config.session;
  return {
    ...config,
    app,
    pathPrefix,
    basePath,
    apps: [],
    security: { ...config.security, allowedOrigins: config.security.allowedOrigins.map((o) => new URL(o).origin) },
    // Each app keeps its records under its own prefix: a session id of one app is nothing in another.
    session: {
      ...config.session,
      redis: redis && app !== MAIN_APP ? { ...redis, keyPrefix: `${redis.keyPrefix}${app}/` } : redis,
    },
    routes: config.routes.map((route) => ({
      ...route,
      requireSession: route.requireSession ?? (route.token !== 'user-or-client' || route.authorize !== undefined),
    })),
    publicUrl: `${publicOrigin}/`,
    publicOrigin,
    oidc: settled[0]!,
    providers: settled,
  };
}

/** Apps share one listener: each must be told apart by host and path, and keep to its own cookies. */
function appProblems(main: GatehouseConfig, apps: readonly GatehouseConfig[]): string[] {
  if (apps.length === 0) return [];
  const problems: string[] = [];
  if (main.gateway.enabled) {
    problems.push('gateway.enabled: gateway mode serves one app; run a Gatehouse for each app that needs it');
  }
  const all = [main, ...apps];
  const host = (app: GatehouseConfig) => new URL(app.publicOrigin).hostname;
  for (const [i, app] of apps.entries()) {
    const at = `apps.${app.app}`;
    for (const other of all.slice(0, i + 1)) {
      if (host(other) !== host(app)) continue;
      if (other.pathPrefix === app.pathPrefix) {
        problems.push(
          `${at}: answers the same host and path as app "${other.app}" (give it its own publicUrl host or a pathPrefix)`,
        );
      } else if (other.session.cookieName === app.session.cookieName) {
        problems.push(
          `${at}.session.cookieName: "${app.session.cookieName}" is app "${other.app}"'s, on the same host`,
        );
      }
    }
    for (const other of all) {
      const under = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);
      if (other !== app && host(other) === host(app) && app.pathPrefix && under(other.basePath, app.pathPrefix)) {
        problems.push(`${at}.pathPrefix: would take app "${other.app}"'s endpoints (${other.basePath})`);
      }
    }
  }
  return problems;
}

/** Marks and freezes an effective configuration. */
function effective(config: GatehouseConfig): GatehouseConfig {
  Object.defineProperty(config, EFFECTIVE, { value: true });
  return deepFreeze(config);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
