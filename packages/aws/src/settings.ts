import type { GatehouseRoute } from './config-document.js';
import type { OriginVerifySlot } from './origin-verify.js';

/** What the ready app (bin/app.ts) reads from CDK context: `cdk deploy -c domainName=... -c ...`. */
export interface AppSettings {
  /** Which stack: Gatehouse on Fargate behind a load balancer, or as a Lambda function. */
  readonly variant: AppVariant;
  readonly stackName: string;
  readonly account?: string;
  readonly region?: string;
  readonly availabilityZones?: string[];
  readonly domainName: string;
  readonly originDomainName: string;
  readonly certificateArn: string;
  readonly originCertificateArn: string;
  readonly oidcIssuer: string;
  readonly oidcClientId: string;
  readonly oidcClientSecretName: string;
  /** The secret's full ARN, when it is not found by name (another account's, or a name in use twice). */
  readonly oidcClientSecretArn?: string;
  readonly oidcScopes?: string[];
  readonly routes: GatehouseRoute[];
  readonly image?: string;
  readonly cpuArchitecture: 'x86_64' | 'arm64';
  readonly hostedZoneId?: string;
  readonly hostedZoneName?: string;
  readonly cloudFrontPrefixListId?: string;
  readonly trustedProxies: string[];
  readonly originVerifyActive: OriginVerifySlot;
  readonly originVerifyAcceptBoth: boolean;
  readonly internalApiPort: number;
  readonly natGateways: number;
  /** Serverless variant: the function's timeout, memory and reserved concurrency. */
  readonly lambdaTimeoutSeconds: number;
  readonly lambdaMemoryMiB: number;
  readonly lambdaReservedConcurrency?: number;
  /** Serverless variant: a JSON secret of your own for the function, instead of one made from oidcClientSecret*. */
  readonly gatehouseSecretsArn?: string;
  /** Context keys left at their placeholder: fine for `cdk synth`, not for a deployment. */
  readonly placeholders: string[];
}

export type AppVariant = 'container' | 'serverless';

/** Placeholders that let `cdk synth` run with no context at all. */
export const PLACEHOLDERS = {
  domainName: 'app.example.com',
  certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000',
  oidcIssuer: 'https://login.example.com',
  oidcClientId: 'gatehouse',
} as const;

export const DEFAULT_ROUTES: GatehouseRoute[] = [{ path: '/orders', upstream: 'http://orders.internal:8080' }];

/** Thrown for a context value that cannot be used, naming the key. */
export class SettingsError extends Error {
  override name = 'SettingsError';
}

type Context = { tryGetContext(key: string): unknown };

/**
 * Reads the app's settings. `-c key=value` always gives strings; cdk.json may give real lists,
 * numbers and booleans: both are accepted.
 */
export function readSettings(context: Context): AppSettings {
  const placeholders: string[] = [];
  const text = (key: string): string | undefined => {
    const value = context.tryGetContext(key);
    if (value === undefined || value === null || value === '') return undefined;
    if (typeof value !== 'string') throw new SettingsError(`context ${key}: expected a string`);
    return value;
  };
  const required = (key: keyof typeof PLACEHOLDERS): string => {
    const value = text(key);
    if (value !== undefined) return value;
    placeholders.push(key);
    return PLACEHOLDERS[key];
  };
  const list = (key: string): string[] | undefined => {
    const value = context.tryGetContext(key);
    if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value;
    const raw = text(key);
    return raw
      ?.split(',')
      .map((item) => item.trim())
      .filter(Boolean);
  };
  const optionalInteger = (key: string): number | undefined => {
    const value = context.tryGetContext(key);
    if (value === undefined || value === null || value === '') return undefined;
    const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
    if (!Number.isSafeInteger(number)) throw new SettingsError(`context ${key}: expected a whole number`);
    return number as number;
  };
  const integer = (key: string, fallback: number): number => optionalInteger(key) ?? fallback;
  const flag = (key: string): boolean => {
    const value = context.tryGetContext(key) ?? false;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    throw new SettingsError(`context ${key}: expected true or false`);
  };

  const domainName = required('domainName');
  const certificateArn = required('certificateArn');
  const active = text('originVerifyActive') ?? 'a';
  if (active !== 'a' && active !== 'b') throw new SettingsError('context originVerifyActive: expected "a" or "b"');
  const region = text('region');
  const hostedZoneId = text('hostedZoneId');
  const hostedZoneName = text('hostedZoneName');
  if ((hostedZoneId === undefined) !== (hostedZoneName === undefined)) {
    throw new SettingsError('context hostedZoneId and hostedZoneName: give both or neither');
  }
  return {
    variant: variant(text('variant')),
    stackName: text('stackName') ?? 'Gatehouse',
    account: text('account'),
    region,
    // An environment-specific stack would otherwise look its AZs up in the account: not offline.
    availabilityZones: list('availabilityZones') ?? (region ? [`${region}a`, `${region}b`] : undefined),
    domainName,
    originDomainName: text('originDomainName') ?? `origin.${domainName}`,
    certificateArn,
    originCertificateArn: text('originCertificateArn') ?? certificateArn,
    oidcIssuer: required('oidcIssuer'),
    oidcClientId: required('oidcClientId'),
    oidcClientSecretName: text('oidcClientSecretName') ?? 'gatehouse/oidc-client-secret',
    oidcClientSecretArn: text('oidcClientSecretArn'),
    oidcScopes: list('oidcScopes'),
    routes: routes(context.tryGetContext('routes')),
    image: text('image'),
    cpuArchitecture: architecture(text('cpuArchitecture')),
    hostedZoneId,
    hostedZoneName,
    cloudFrontPrefixListId: text('cloudFrontPrefixListId'),
    trustedProxies: list('trustedProxies') ?? [],
    originVerifyActive: active,
    originVerifyAcceptBoth: flag('originVerifyAcceptBoth'),
    internalApiPort: integer('internalApiPort', 8080),
    natGateways: integer('natGateways', 2),
    lambdaTimeoutSeconds: integer('lambdaTimeoutSeconds', 30),
    lambdaMemoryMiB: integer('lambdaMemoryMiB', 1024),
    lambdaReservedConcurrency: optionalInteger('lambdaReservedConcurrency'),
    gatehouseSecretsArn: text('gatehouseSecretsArn'),
    placeholders,
  };
}

function variant(value: string | undefined): AppVariant {
  if (value === undefined || value === 'container' || value === 'serverless') return value ?? 'container';
  throw new SettingsError('context variant: expected "container" or "serverless"');
}

function architecture(value: string | undefined): 'x86_64' | 'arm64' {
  if (value === undefined || value === 'x86_64' || value === 'arm64') return value ?? 'x86_64';
  throw new SettingsError('context cpuArchitecture: expected "x86_64" or "arm64"');
}

/** Routes as a JSON list (`-c 'routes=[{"path":"/orders","upstream":"http://..."}]'`) or a real one. */
function routes(value: unknown): GatehouseRoute[] {
  if (value === undefined || value === null || value === '') return DEFAULT_ROUTES;
  let parsed = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new SettingsError('context routes: expected a JSON list of {"path", "upstream"}');
    }
  }
  const valid =
    Array.isArray(parsed) &&
    parsed.every(
      (route: unknown) =>
        typeof route === 'object' &&
        route !== null &&
        typeof (route as GatehouseRoute).path === 'string' &&
        typeof (route as GatehouseRoute).upstream === 'string',
    );
  if (!valid) throw new SettingsError('context routes: expected a JSON list of {"path", "upstream"}');
  return parsed as GatehouseRoute[];
}
