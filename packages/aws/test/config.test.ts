/**
 * GATEHOUSE_CONFIG, read back from the synthesized task definition and loaded by Gatehouse's own
 * loader (YAML parsing, ${NAME} substitution, schema validation), with the environment ECS would
 * build from the task's secrets: every reference must resolve and every key must be one Gatehouse
 * knows.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { loadConfigText, type GatehouseConfig } from 'gatehouse';
import { gatehouseConfig } from '../src/gatehouse-config.js';
import { synthesize, type Synthesized } from './support/synth.js';

const CACHE_HOST = 'master.gatehouse-sessions.abc123.euw1.cache.amazonaws.com';
const VPC_CIDR = '10.0.0.0/16';

/** The config text as ECS would pass it, with CloudFormation's values filled in. */
function configText(synth: Synthesized): { text: string; secretNames: string[] } {
  const task = Object.values(synth.resources('AWS::ECS::TaskDefinition'))[0]!.Properties;
  const container = (
    task.ContainerDefinitions as { Environment: { Name: string; Value: unknown }[]; Secrets: { Name: string }[] }[]
  )[0]!;
  const value = container.Environment.find((e) => e.Name === 'GATEHOUSE_CONFIG')!.Value as {
    'Fn::Join': [string, unknown[]];
  };
  const cacheId = synth.logicalId('AWS::ElastiCache::ReplicationGroup', 'Sessions');
  const vpcId = synth.logicalId('AWS::EC2::VPC', 'Vpc');
  const filled = value['Fn::Join'][1].map((part) => {
    if (typeof part === 'string') return part;
    const [id, attribute] = (part as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
    if (id === cacheId && attribute === 'PrimaryEndPoint.Address') return CACHE_HOST;
    if (id === cacheId && attribute === 'PrimaryEndPoint.Port') return '6379';
    if (id === vpcId && attribute === 'CidrBlock') return VPC_CIDR;
    throw new Error(`unexpected reference in GATEHOUSE_CONFIG: ${JSON.stringify(part)}`);
  });
  return { text: filled.join(''), secretNames: container.Secrets.map((s) => s.Name) };
}

/** A distinct 40-character value per variable, as Secrets Manager would provide. */
const fakeSecret = (name: string) => `${name.toLowerCase().replaceAll('_', '')}${'x'.repeat(40)}`.slice(0, 40);

describe('GATEHOUSE_CONFIG', () => {
  let text: string;
  let secretNames: string[];
  let config: GatehouseConfig;
  before(() => {
    ({ text, secretNames } = configText(synthesize()));
    const env = Object.fromEntries(secretNames.map((name) => [name, fakeSecret(name)]));
    config = loadConfigText(text, { source: 'GATEHOUSE_CONFIG', env });
  });

  it('is valid for Gatehouse with exactly the variables the task’s secrets provide', () => {
    // Loading succeeded above; a missing variable or an unknown key would have thrown.
    assert.deepEqual(secretNames.sort(), [
      'OIDC_CLIENT_SECRET',
      'ORIGIN_VERIFY_SECRET',
      'REDIS_PASSWORD',
      'SESSION_SECRET',
    ]);
    for (const name of secretNames) assert.ok(text.includes(`\${${name}}`), name);
  });

  it('serves https://<domainName> on 0.0.0.0:8080, believing X-Forwarded-For from the VPC only', () => {
    assert.equal(config.publicUrl, 'https://app.test.example/');
    assert.equal(config.server.host, '0.0.0.0');
    assert.equal(config.server.port, 8080);
    assert.deepEqual(config.server.trustProxy, [VPC_CIDR]);
  });

  it('binds the admin listener where the load balancer’s health check reaches it', () => {
    assert.equal(config.admin.enabled, true);
    assert.equal(config.admin.host, '0.0.0.0');
    assert.equal(config.admin.port, 9090);
    assert.equal(config.admin.token, undefined);
  });

  it('signs in at the configured provider with the client secret from Secrets Manager', () => {
    assert.equal(config.oidc.issuer, 'https://login.test.example');
    assert.equal(config.oidc.clientId, 'spa-bff');
    assert.equal(config.oidc.clientSecret, fakeSecret('OIDC_CLIENT_SECRET'));
    assert.deepEqual(config.oidc.scopes, ['openid', 'profile', 'email', 'offline_access']);
  });

  it('keeps sessions and rate limits in the ElastiCache primary over TLS with the AUTH token', () => {
    assert.equal(config.session.store, 'redis');
    assert.deepEqual(config.session.secrets, [fakeSecret('SESSION_SECRET')]);
    assert.equal(config.session.redis?.url, `rediss://${CACHE_HOST}:6379`);
    assert.equal(config.session.redis?.password, fakeSecret('REDIS_PASSWORD'));
    assert.equal(config.session.redis?.tls, true);
    assert.equal(config.session.redis?.username, undefined);
    assert.equal(config.rateLimit.store, 'redis');
  });

  it('refuses requests without CloudFront’s header, checking the same secret as the load balancer', () => {
    assert.deepEqual(config.security.originVerify, {
      header: 'x-origin-verify',
      secrets: [fakeSecret('ORIGIN_VERIFY_SECRET')],
    });
  });

  it('proxies the routes from context', () => {
    assert.deepEqual(
      config.routes.map((r) => [r.path, r.upstream, r.token, r.scope]),
      [
        ['/orders', 'http://orders.internal:8080/v1/orders', 'user', undefined],
        ['/catalog', 'http://catalog.internal:8080', 'client', 'catalog:read'],
      ],
    );
  });

  it('serves no static files itself: CloudFront serves the SPA from the bucket', () => {
    assert.equal(config.static.root, undefined);
  });
});

describe('configuration document', () => {
  const base = {
    domainName: 'app.example.com',
    trustProxy: ['10.0.0.0/16', '130.176.0.0/18'],
    oidc: { issuer: 'https://login.example.com', clientId: 'bff', scopes: ['openid', 'orders'] },
    redis: { host: 'cache.internal', port: '6380' },
    originVerifyStandby: true,
    routes: [{ path: '/orders', upstream: 'http://orders.internal:8080', websocket: true }],
  };
  const env = {
    OIDC_CLIENT_SECRET: 'c'.repeat(32),
    SESSION_SECRET: 's'.repeat(32),
    REDIS_PASSWORD: 'r'.repeat(32),
    ORIGIN_VERIFY_SECRET: 'o'.repeat(32),
    ORIGIN_VERIFY_SECRET_STANDBY: 'n'.repeat(32),
  };

  it('round-trips awkward strings through the environment and deep-merges overrides', () => {
    const tricky = {
      prompt: 'no',
      port_like: '8080',
      wildcard: '*',
      colon: 'a: b # not a comment',
      quotes: `it's "quoted"\nand two lines`,
      unicode: 'é € 日本',
      'dashed-key': '- not a list',
      dollar: '$${not substituted}',
    };
    const document = gatehouseConfig({
      ...base,
      overrides: { oidc: { authorizationParams: tricky }, session: { idleTimeout: '1h' }, log: { level: 'debug' } },
    });
    const config = loadConfigText(JSON.stringify(document), { source: 'test', env });
    assert.deepEqual(config.oidc.authorizationParams, { ...tricky, dollar: '${not substituted}' });
    // Overrides merge into the generated sections rather than replacing them.
    assert.equal(config.oidc.clientId, 'bff');
    assert.equal(config.session.store, 'redis');
    assert.equal(config.session.idleTimeout, 3_600_000);
    assert.equal(config.log.level, 'debug');
    assert.deepEqual(config.oidc.scopes, ['openid', 'orders']);
    assert.deepEqual(config.server.trustProxy, ['10.0.0.0/16', '130.176.0.0/18']);
    assert.equal(config.session.redis?.url, 'rediss://cache.internal:6380');
    assert.equal(config.routes[0]?.websocket, true);
  });

  it('accepts both origin-verify secrets while rotating, the one CloudFront sends first', () => {
    const config = loadConfigText(JSON.stringify(gatehouseConfig(base)), { source: 'test', env });
    assert.deepEqual(config.security.originVerify?.secrets, ['o'.repeat(32), 'n'.repeat(32)]);
  });
});
