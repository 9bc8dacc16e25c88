/**
 * Walks the configuration schema and lists every key with its default, its
 * description and whether it is a secret. `gatehouse check` masks secrets with it, and a test
 * checks docs/configuration.md against it.
 */
import { z } from 'zod';
import { configSchema } from './schema.js';

export interface ConfigKey {
  /** Dotted path; array items are written `routes[].path`, named entries `upstreams.<name>.url`. */
  path: string;
  default?: unknown;
  description?: string;
  secret: boolean;
  required: boolean;
}

/** The parts of zod's internal definition this walker reads. */
interface Def {
  type: string;
  shape?: Record<string, Schema>;
  element?: Schema;
  valueType?: Schema;
  innerType?: Schema;
  defaultValue?: unknown;
  in?: Schema;
  out?: Schema;
}
interface Schema {
  _zod: { def: Def };
}

interface Unwrapped {
  schema: Schema;
  default?: unknown;
  optional: boolean;
  description?: string;
  secret: boolean;
}

/** Peels default/prefault/optional/pipe wrappers, collecting default and metadata on the way. */
function unwrap(schema: Schema): Unwrapped {
  const out: Unwrapped = { schema, optional: false, secret: false };
  for (let current: Schema | undefined = schema; current;) {
    const meta = z.globalRegistry.get(current as never) as { description?: string; secret?: boolean } | undefined;
    out.description ??= meta?.description;
    out.secret ||= meta?.secret === true;
    out.schema = current;
    const def: Def = current._zod.def;
    if (def.type === 'default' || def.type === 'prefault') {
      if (!('default' in out)) out.default = def.defaultValue;
      current = def.innerType;
    } else if (def.type === 'optional') {
      out.optional = true;
      current = def.innerType;
    } else if (def.type === 'pipe') {
      // preprocess: (transform -> type); transform after parse: (type -> transform)
      current = def.in!._zod.def.type === 'transform' ? def.out : def.in;
    } else {
      current = undefined;
    }
  }
  return out;
}

let cached: ConfigKey[] | undefined;

/** Every key of the configuration, parents before children. */
export function configKeys(): ConfigKey[] {
  if (cached) return cached;
  const keys: ConfigKey[] = [];
  const visit = (object: Schema, path: string) => {
    for (const [name, child] of Object.entries(object._zod.def.shape ?? {})) {
      const key = unwrap(child);
      const childPath = path ? `${path}.${name}` : name;
      const def: Def = key.schema._zod.def;
      const element = def.type === 'array' ? unwrap(def.element!) : undefined;
      keys.push({
        path: childPath,
        default: key.default,
        description: key.description,
        secret: key.secret || element?.secret === true,
        required: !key.optional && !('default' in key),
      });
      if (def.type === 'object') visit(key.schema, childPath);
      if (element?.schema._zod.def.type === 'object') visit(element.schema, `${childPath}[]`);
      // Named entries (upstreams.<name>): their keys are written `upstreams.<name>.url`.
      const entry = def.type === 'record' ? unwrap(def.valueType!) : undefined;
      if (entry?.schema._zod.def.type === 'object') visit(entry.schema, `${childPath}.<name>`);
    }
  };
  visit(configSchema as unknown as Schema, '');
  cached = keys;
  return keys;
}

const MASK = '********';

/** A deep copy of a configuration with every secret value replaced by a mask. */
export function maskSecrets(config: unknown): unknown {
  const secretPaths = new Set(
    configKeys()
      .filter((k) => k.secret)
      .map((k) => k.path),
  );
  const walk = (value: unknown, at: string): unknown => {
    const path = asTopLevelPath(at);
    if (secretPaths.has(path)) return Array.isArray(value) ? value.map(() => MASK) : MASK;
    if (Array.isArray(value)) return value.map((v) => walk(v, `${path}[]`));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, path ? `${path}.${k}` : k)]));
    }
    return value;
  };
  return walk(config, '');
}

/**
 * An app's or a provider's keys are the top level's and oidc's: "apps.shop.oidc.clientSecret" (as
 * written) and "apps[].providers[].clientSecret" (effective) are masked as "oidc.clientSecret" is.
 */
function asTopLevelPath(path: string): string {
  return path
    .replace(/^(?:apps\.[^.]+|apps\[\])(?:\.|$)/, '')
    .replace(/^oidc\.providers\.[^.]+(?=\.|$)/, 'oidc')
    .replace(/^providers\[\](?=\.|$)/, 'oidc');
}
