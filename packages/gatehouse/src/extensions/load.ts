/**
 * Extensions from the configuration (`extensions: ["./dashboard.js"]`) and from the library API
 * (`createGatehouse(config, { extensions })`) go through the same checks as the rest of the
 * configuration: a module that cannot load, a wrong shape, an upstream that is not configured or a
 * path that collides with another endpoint is a startup error naming where it is.
 */
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { ConfigError, describeIssue, type GatehouseConfig } from '../config/load.js';
import { accessRuleSchema } from '../config/schema.js';
import type { EndpointContext, Extension } from './types.js';
import type { Selector, View } from './views.js';

/** Handlers are called with the widest context; their declared types are narrower per endpoint. */
type Callback = (context: EndpointContext<string, true>) => unknown;
const fn = z.custom<Callback>((value) => typeof value === 'function', 'expected a function');

const selector: z.ZodType<Selector> = z.lazy(() =>
  z.union([
    z.string().min(1),
    z.strictObject({ from: z.string().min(1), fields: view.optional(), limit: z.number().int().positive().optional() }),
  ]),
);
const view: z.ZodType<View> = z.lazy(() => z.record(z.string().min(1), selector));

/** "/dashboard", "/customers/:customerId/orders". */
const ENDPOINT_PATH = /^(\/([A-Za-z0-9._~-]+|:[A-Za-z][A-Za-z0-9_]*))+$/;

const endpointSchema = z
  .strictObject({
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']).default('GET'),
    path: z.string().regex(ENDPOINT_PATH, 'expected a path such as "/dashboard" or "/orders/:id"'),
    session: z.enum(['required', 'optional']).default('required'),
    authorize: accessRuleSchema.optional(),
    allow: fn.optional(),
    views: z.record(z.string().regex(/^[A-Za-z0-9_-]+$/, 'expected a view name such as "mobile"'), view).optional(),
    handler: fn,
  })
  .refine((e) => !(e.session === 'optional' && e.authorize), {
    message: 'authorize rules need a signed-in user; remove session: "optional"',
    path: ['authorize'],
  });

const extensionSchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected a name such as "dashboard"'),
  upstreams: z.array(z.string().min(1)).default([]),
  endpoints: z.array(endpointSchema).min(1, 'expected at least one endpoint'),
});

/** An extension as Gatehouse runs it: defaults applied. */
export type LoadedEndpoint = z.output<typeof endpointSchema>;
export interface LoadedExtension {
  name: string;
  upstreams: readonly string[];
  endpoints: readonly LoadedEndpoint[];
}

/** Loads and checks every extension; throws one ConfigError listing every problem. */
export async function loadExtensions(
  config: GatehouseConfig,
  given: readonly Extension[] = [],
): Promise<LoadedExtension[]> {
  const problems: string[] = [];
  const candidates: { where: string; value: unknown }[] = [];
  for (const [i, specifier] of config.extensions.entries()) {
    const where = `extensions[${i}] (${specifier})`;
    try {
      const module = (await import(isAbsolute(specifier) ? pathToFileURL(specifier).href : specifier)) as {
        default?: unknown;
      };
      if (module.default === undefined)
        problems.push(`${where}: has no default export (export default defineExtension({...}))`);
      else candidates.push({ where, value: module.default });
    } catch (error) {
      problems.push(`${where}: cannot be loaded: ${loadFailure(error)}`);
    }
  }
  given.forEach((value, i) => candidates.push({ where: `options.extensions[${i}]`, value }));

  const loaded: LoadedExtension[] = [];
  for (const { where, value } of candidates) {
    const result = extensionSchema.safeParse(value);
    if (!result.success) {
      problems.push(...result.error.issues.flatMap(describeIssue).map((problem) => `${where}: ${problem}`));
    } else {
      loaded.push(result.data);
      problems.push(...placementProblems(config, result.data, where));
    }
  }
  problems.push(...collisions(loaded));
  if (problems.length > 0) throw new ConfigError(problems, 'extensions');
  return loaded;
}

/** Upstreams must be configured; paths must not take over Gatehouse's own or a proxied route's. */
function placementProblems(config: GatehouseConfig, extension: LoadedExtension, where: string): string[] {
  const problems: string[] = [];
  for (const name of extension.upstreams) {
    if (!Object.hasOwn(config.upstreams, name)) {
      problems.push(`${where}: uses upstream "${name}", which is not configured under upstreams`);
    }
  }
  extension.endpoints.forEach((endpoint, i) => {
    const at = `${where}: endpoints[${i}].path`;
    if (endpoint.path === '/auth' || endpoint.path.startsWith('/auth/')) {
      problems.push(`${at}: "/auth" is reserved for Gatehouse's own endpoints`);
    }
    const route = config.routes.find((r) => endpoint.path === r.path || endpoint.path.startsWith(`${r.path}/`));
    if (route) problems.push(`${at}: "${endpoint.path}" is inside the proxied route "${route.path}"`);
  });
  return problems;
}

/** Two endpoints answering the same method and path (parameter names aside). */
function collisions(extensions: readonly LoadedExtension[]): string[] {
  const owners = new Map<string, string>();
  const problems: string[] = [];
  for (const extension of extensions) {
    for (const endpoint of extension.endpoints) {
      const key = `${endpoint.method} ${endpoint.path.replace(/:[^/]+/g, ':')}`;
      const owner = owners.get(key);
      if (owner) problems.push(`${extension.name}: ${endpoint.method} ${endpoint.path} is already served by ${owner}`);
      else owners.set(key, extension.name);
    }
  }
  return problems;
}

function loadFailure(error: unknown): string {
  const { code, message } = error as { code?: string; message?: string };
  if (code === 'ERR_UNKNOWN_FILE_EXTENSION') return `${message} (compile it to JavaScript first)`;
  return (message ?? String(error)).split('\n', 1)[0]!;
}
