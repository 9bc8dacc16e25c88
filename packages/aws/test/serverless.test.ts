/**
 * The serverless variant (`-c variant=serverless`): the same CloudFront and private bucket as the
 * container variant, and api/* to Gatehouse as a Lambda function behind a function URL that only
 * CloudFront, signing with origin access control, may invoke. Its configuration is checked by
 * Gatehouse's own Lambda loader; its secrets reach it through one Secrets Manager secret and the
 * Parameters and Secrets extension, never through the template.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { loadRuntimeConfig } from '../../gatehouse/src/config/runtimes.js';
import { SPA_REWRITE_FUNCTION_FILE } from '../src/distribution.js';
import {
  ALL_VIEWER_EXCEPT_HOST_HEADER,
  CACHING_DISABLED,
  CACHING_OPTIMIZED,
  distributionArn,
  distributionOf,
  originAccessControlOf,
  originOf,
  type Behaviour,
  type DistributionConfig,
} from './support/cloudfront.js';
import {
  BLOCK_ALL_PUBLIC_ACCESS,
  gatehouseFunction,
  GENERATED_SECRET_STRING,
  type LambdaFunction,
  type Synthesized,
  synthesizeServerless,
} from './support/synth.js';

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

describe('serverless variant', () => {
  let synth: Synthesized;
  let fn: LambdaFunction;
  let functionId: string;
  let urlId: string;
  let distributionId: string;
  let config: DistributionConfig;
  let behaviours: { site: Behaviour; api: Behaviour };
  let bundleId: string;
  before(() => {
    synth = synthesizeServerless();
    ({ id: functionId, props: fn } = gatehouseFunction(synth));
    urlId = synth.logicalId('AWS::Lambda::Url', 'FunctionUrl');
    ({ id: distributionId, config } = distributionOf(synth));
    assert.equal(config.CacheBehaviors.length, 1);
    behaviours = { site: config.DefaultCacheBehavior, api: config.CacheBehaviors[0]! };
    bundleId = synth.logicalId('AWS::SecretsManager::Secret', 'HostingSecrets');
  });
  const environment = () => fn.Environment.Variables;
  /** Every IAM statement in the template: managed, inline and role policies. */
  const statements = (): { owner: string; statement: Statement }[] =>
    ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::Role'].flatMap((type) =>
      Object.entries(synth.resources(type)).flatMap(([owner, resource]) => {
        const documents =
          type === 'AWS::IAM::Role'
            ? ((resource.Properties.Policies ?? []) as { PolicyDocument: { Statement: Statement[] } }[]).map(
                (p) => p.PolicyDocument,
              )
            : [resource.Properties.PolicyDocument as { Statement: Statement[] }];
        return documents.flatMap((d) => d.Statement.map((statement) => ({ owner, statement })));
      }),
    );

  it('runs Gatehouse on Lambda: Node.js 22 on arm64, 1024 MB, 30 s, the bundle’s index.handler, no VPC', () => {
    synth.template.resourceCountIs('AWS::Lambda::Function', 1);
    assert.equal(fn.Runtime, 'nodejs22.x');
    assert.deepEqual(fn.Architectures, ['arm64']);
    assert.equal(fn.Handler, 'index.handler');
    assert.equal(fn.MemorySize, 1024);
    assert.equal(fn.Timeout, 30);
    assert.equal(fn.ReservedConcurrentExecutions, undefined);
    assert.equal(fn.VpcConfig, undefined, 'sealed cookies need no VPC, and so no NAT');
    for (const type of ['AWS::EC2::VPC', 'AWS::EC2::NatGateway', 'AWS::ElastiCache::ReplicationGroup']) {
      synth.template.resourceCountIs(type, 0);
    }
  });

  it('gives it one function URL: IAM auth, streamed answers', () => {
    synth.template.resourceCountIs('AWS::Lambda::Url', 1);
    const url = synth.resources('AWS::Lambda::Url')[urlId]!.Properties;
    assert.equal(url.AuthType, 'AWS_IAM');
    assert.equal(url.InvokeMode, 'RESPONSE_STREAM');
    assert.deepEqual(url.TargetFunctionArn, { 'Fn::GetAtt': [functionId, 'Arn'] });
    assert.equal(url.Cors, undefined, 'one origin for the browser: no CORS');
  });

  it('sends api/* to the function URL through an origin access control of type lambda that signs every request', () => {
    const api = originOf(config, behaviours.api);
    assert.deepEqual(api.DomainName, {
      'Fn::Select': [2, { 'Fn::Split': ['/', { 'Fn::GetAtt': [urlId, 'FunctionUrl'] }] }],
    });
    const oac = originAccessControlOf(synth, api);
    assert.equal(oac.OriginAccessControlOriginType, 'lambda');
    assert.equal(oac.SigningBehavior, 'always');
    assert.equal(oac.SigningProtocol, 'sigv4');
    assert.deepEqual(api.CustomOriginConfig, {
      OriginProtocolPolicy: 'https-only',
      OriginSSLProtocols: ['TLSv1.2'],
      // The function's timeout: CloudFront waits as long as the function may run (up to 60 s).
      OriginReadTimeout: 30,
    });
    assert.equal(api.OriginCustomHeaders, undefined, 'no shared secret header: the signature proves the origin');
  });

  it('lets only this distribution invoke the function, and only through its URL', () => {
    const permissions = Object.values(synth.resources('AWS::Lambda::Permission')).map((p) => p.Properties);
    assert.deepEqual(permissions.map((p) => p.Action).sort(), ['lambda:InvokeFunction', 'lambda:InvokeFunctionUrl']);
    for (const permission of permissions) {
      assert.equal(permission.Principal, 'cloudfront.amazonaws.com');
      assert.deepEqual(permission.SourceArn, distributionArn(distributionId));
      assert.deepEqual(permission.FunctionName, { 'Fn::GetAtt': [urlId, 'FunctionArn'] });
    }
    const invoke = permissions.find((p) => p.Action === 'lambda:InvokeFunction')!;
    assert.equal(invoke.InvokedViaFunctionUrl, true, 'the grant cannot invoke the function directly');
    const invokeUrl = permissions.find((p) => p.Action === 'lambda:InvokeFunctionUrl')!;
    assert.equal(invokeUrl.FunctionUrlAuthType, undefined, 'not an AuthType NONE grant to everyone');
  });

  it('keeps the SPA in a private bucket that only this distribution reads, through an origin access control', () => {
    const bucketId = synth.logicalId('AWS::S3::Bucket', 'SiteBucket');
    const bucket = synth.resources('AWS::S3::Bucket')[bucketId]!.Properties;
    assert.deepEqual(bucket.PublicAccessBlockConfiguration, BLOCK_ALL_PUBLIC_ACCESS);
    assert.equal(bucket.WebsiteConfiguration, undefined);
    const site = originOf(config, behaviours.site);
    assert.deepEqual(site.DomainName, { 'Fn::GetAtt': [bucketId, 'RegionalDomainName'] });
    const oac = originAccessControlOf(synth, site);
    assert.equal(oac.OriginAccessControlOriginType, 's3');
    const [policy] = Object.values(synth.resources('AWS::S3::BucketPolicy'));
    const allows = (policy!.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement.filter(
      (s) => s.Effect === 'Allow',
    );
    assert.ok(allows.length > 0);
    for (const statement of allows) {
      assert.deepEqual(statement.Principal, { Service: 'cloudfront.amazonaws.com' });
      assert.deepEqual(statement.Condition, { StringEquals: { 'AWS:SourceArn': distributionArn(distributionId) } });
    }
  });

  it('serves the SPA like the container variant: cached, deep links rewritten by the same function, page headers', () => {
    assert.equal(behaviours.site.CachePolicyId, CACHING_OPTIMIZED);
    assert.deepEqual(behaviours.site.AllowedMethods, ['GET', 'HEAD']);
    const rewriteId = synth.logicalId('AWS::CloudFront::Function', 'SpaRewrite');
    assert.deepEqual(behaviours.site.FunctionAssociations, [
      { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [rewriteId, 'FunctionARN'] } },
    ]);
    const rewrite = synth.resources('AWS::CloudFront::Function')[rewriteId]!.Properties;
    assert.equal(rewrite.FunctionCode, readFileSync(SPA_REWRITE_FUNCTION_FILE, 'utf8'));
    const headersId = synth.logicalId('AWS::CloudFront::ResponseHeadersPolicy', 'PageHeaders');
    assert.deepEqual(behaviours.site.ResponseHeadersPolicyId, { Ref: headersId });
  });

  it('api/*: never cached, every method, all viewer headers but Host (CloudFront-Viewer-Address included)', () => {
    const api = behaviours.api;
    assert.equal(api.PathPattern, 'api/*');
    assert.equal(api.CachePolicyId, CACHING_DISABLED);
    assert.deepEqual([...api.AllowedMethods].sort(), ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT']);
    assert.equal(api.OriginRequestPolicyId, ALL_VIEWER_EXCEPT_HOST_HEADER);
    assert.equal(api.ViewerProtocolPolicy, 'https-only');
    assert.equal(api.FunctionAssociations, undefined, 'the deep-link rewrite must never touch /api');
    assert.equal(api.ResponseHeadersPolicyId, undefined, 'Gatehouse sets its own headers on API answers');
    assert.equal(api.Compress, false);
  });

  it('attaches the Parameters and Secrets extension for arm64, by each region’s own ARN', () => {
    assert.deepEqual(fn.Layers, [
      { 'Fn::FindInMap': ['ParamsandsecretslayerMap', { Ref: 'AWS::Region' }, '1x0x103xarm64'] },
    ]);
    const mapping = (synth.template.toJSON().Mappings as Record<string, Record<string, Record<string, string>>>)
      .ParamsandsecretslayerMap!;
    assert.ok(Object.keys(mapping).length > 20, 'every commercial region');
    for (const [region, arns] of Object.entries(mapping)) {
      assert.match(
        arns['1x0x103xarm64']!,
        new RegExp(
          `^arn:aws(-[a-z]+)*:lambda:${region}:\\d{12}:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:\\d+$`,
        ),
      );
    }
    assert.equal(environment().PARAMETERS_SECRETS_EXTENSION_HTTP_PORT, '2773', 'where Gatehouse asks');
  });

  it('names its secret in GATEHOUSE_SECRETS_ID, and only the function may read it', () => {
    assert.deepEqual(environment().GATEHOUSE_SECRETS_ID, { Ref: bundleId });
    const secretStatements = statements().filter(({ statement }) =>
      [statement.Action].flat().some((action) => action.startsWith('secretsmanager:')),
    );
    assert.equal(secretStatements.length, 1);
    const [{ owner, statement }] = secretStatements as [{ owner: string; statement: Statement }];
    assert.deepEqual([statement.Action].flat().sort(), [
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
    ]);
    assert.deepEqual(statement.Resource, { Ref: bundleId }, 'not the session secret, nor the client secret it copies');
    const policy = synth.resources('AWS::IAM::Policy')[owner]!.Properties;
    const [roleId] = (fn.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'];
    assert.deepEqual(policy.Roles, [{ Ref: roleId }]);
    synth.template.resourceCountIs('AWS::SecretsManager::ResourcePolicy', 0);
  });

  it('holds no secret value in the template: generated, or copied in by dynamic reference at deploy time', () => {
    const sessionId = synth.logicalId('AWS::SecretsManager::Secret', 'SessionSecret');
    const session = synth.resources('AWS::SecretsManager::Secret')[sessionId]!.Properties;
    assert.equal(session.SecretString, undefined);
    assert.deepEqual(session.GenerateSecretString, GENERATED_SECRET_STRING);
    // The bundle's SecretString, with each { Ref } written as <name>.
    const parts = (
      synth.resources('AWS::SecretsManager::Secret')[bundleId]!.Properties.SecretString as {
        'Fn::Join': [string, (string | { Ref: string })[]];
      }
    )['Fn::Join'][1];
    const text = parts.map((part) => (typeof part === 'string' ? part : `<${part.Ref}>`)).join('');
    const values = JSON.parse(text) as Record<string, string>;
    assert.deepEqual(Object.keys(values).sort(), ['OIDC_CLIENT_SECRET', 'SESSION_SECRET']);
    assert.match(
      values.OIDC_CLIENT_SECRET!,
      /^\{\{resolve:secretsmanager:arn:.*:secret:gatehouse\/oidc-client-secret:SecretString:::\}\}$/,
    );
    assert.equal(values.SESSION_SECRET, `{{resolve:secretsmanager:<${sessionId}>:SecretString:::}}`);
    // Nothing else resolves a secret: the function gets names, not values.
    const elsewhere = JSON.stringify({ ...synth.template.toJSON().Resources, [bundleId]: undefined });
    assert.doesNotMatch(elsewhere, /resolve:secretsmanager/);
    // Gatehouse's three, and the extension's settings (CDK writes them all, defaults included).
    assert.deepEqual(Object.keys(environment()).sort(), [
      'GATEHOUSE_CONFIG',
      'GATEHOUSE_SECRETS_ID',
      'NODE_ENV',
      'PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED',
      'PARAMETERS_SECRETS_EXTENSION_CACHE_SIZE',
      'PARAMETERS_SECRETS_EXTENSION_HTTP_PORT',
      'PARAMETERS_SECRETS_EXTENSION_LOG_LEVEL',
      'PARAMETERS_SECRETS_EXTENSION_MAX_CONNECTIONS',
      'SECRETS_MANAGER_TIMEOUT_MILLIS',
      'SECRETS_MANAGER_TTL',
      'SSM_PARAMETER_STORE_TIMEOUT_MILLIS',
      'SSM_PARAMETER_STORE_TTL',
    ]);
  });

  it('runs a GATEHOUSE_CONFIG that Gatehouse’s own Lambda loader accepts, with exactly the secret’s names', () => {
    const document = environment().GATEHOUSE_CONFIG as string;
    const names = [...document.matchAll(/\$\{([A-Z_]+)\}/g)].map((m) => m[1]!);
    assert.deepEqual([...new Set(names)].sort(), ['OIDC_CLIENT_SECRET', 'SESSION_SECRET']);
    const env = { OIDC_CLIENT_SECRET: 'placeholder-client-secret', SESSION_SECRET: 'p'.repeat(64) };
    const config = loadRuntimeConfig(document, 'lambda', env);
    assert.equal(config.publicUrl, 'https://app.test.example/');
    assert.equal(config.session.store, 'cookie');
    assert.deepEqual(config.session.secrets, [env.SESSION_SECRET]);
    assert.equal(config.oidc.clientSecret, env.OIDC_CLIENT_SECRET);
    assert.equal(config.oidc.issuer, 'https://login.test.example');
    // Gatehouse gives up on a slow upstream (its own 504) before CloudFront's 30 s and the function's.
    assert.deepEqual(
      config.routes.map((r) => [r.path, r.timeout]),
      [
        ['/orders', 25_000],
        ['/catalog', 25_000],
      ],
    );
    assert.equal(config.rateLimit.store, 'memory');
    // Nothing a listener would need, which the loader refuses on Lambda anyway.
    assert.doesNotMatch(document, /"(server|admin|trustProxy|static|tracing|gateway)"/);
  });

  it('logs to its own log group, kept a month', () => {
    const logGroupId = synth.logicalId('AWS::Logs::LogGroup', 'GatehouseLogs');
    assert.deepEqual(fn.LoggingConfig.LogGroup, { Ref: logGroupId });
    assert.equal(synth.resources('AWS::Logs::LogGroup')[logGroupId]!.Properties.RetentionInDays, 30);
  });

  it('outputs what a deployment needs next, and nothing of the container variant', () => {
    const outputs = synth.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    assert.deepEqual(Object.keys(outputs).sort(), [
      'BucketName',
      'DistributionDomainName',
      'DistributionId',
      'FunctionName',
      'LogGroupName',
      'SecretsArn',
    ]);
    assert.deepEqual(outputs.SecretsArn!.Value, { Ref: bundleId });
    for (const type of ['AWS::ECS::Service', 'AWS::ElasticLoadBalancingV2::LoadBalancer']) {
      synth.template.resourceCountIs(type, 0);
    }
  });
});
