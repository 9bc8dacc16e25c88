/**
 * Walks the configuration schema (as JSON Schema) and lists every key with its default, its
 * description and whether it is a secret. `gatehouse check` masks secrets with it, and a test
 * checks docs/configuration.md against it.
 */
import { z } from 'zod';
import { configSchema } from './schema.js';

export interface ConfigKey {
  /** Dotted path; array items are written `routes[].path`. */
  path: string;
  default?: unknown;
  description?: string;
  secret: boolean;
  required: boolean;
}

interface JsonSchemaNode {
  type?: string;
  properties?: Record<string, JsonSchemaNode>;
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
  required?: string[];
  default?: unknown;
  description?: string;
  secret?: boolean;
}

let cached: ConfigKey[] | undefined;

/** Every key of the configuration, parents before children. */
export function configKeys(): ConfigKey[] {
  if (cached) return cached;
  const root = z.toJSONSchema(configSchema, {
    io: 'input',
    unrepresentable: 'any',
  }) as JsonSchemaNode;
  const keys: ConfigKey[] = [];
  const visit = (node: JsonSchemaNode, path: string) => {
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      const childPath = path ? `${path}.${name}` : name;
      const item = child.items;
      keys.push({
        path: childPath,
        default: child.default,
        description: child.description,
        secret: child.secret === true || item?.secret === true,
        required: node.required?.includes(name) === true && child.default === undefined,
      });
      visit(child, childPath);
      if (item) visit(item, `${childPath}[]`);
    }
  };
  visit(root, '');
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
  const walk = (value: unknown, path: string): unknown => {
    if (secretPaths.has(path)) return Array.isArray(value) ? value.map(() => MASK) : MASK;
    if (Array.isArray(value)) return value.map((v) => walk(v, `${path}[]`));
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, path ? `${path}.${k}` : k)]));
    }
    return value;
  };
  return walk(config, '');
}
