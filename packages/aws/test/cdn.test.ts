/**
 * CloudFront and the SPA bucket: one distribution, the build from a private bucket through OAC,
 * api/* to the load balancer uncached with everything forwarded, deep links by a function on the
 * default behaviour only, and the origin-verify header from Secrets Manager, never in clear.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Match } from 'aws-cdk-lib/assertions';
import { DEFAULT_CONTENT_SECURITY_POLICY } from '../src/distribution.js';
import {
  ALL_VIEWER_EXCEPT_HOST_HEADER,
  CACHING_DISABLED,
  CACHING_OPTIMIZED,
  distributionArn,
  distributionOf,
  originOf,
  type DistributionConfig,
} from './support/cloudfront.js';
import {
  BLOCK_ALL_PUBLIC_ACCESS,
  dynamicReference,
  GENERATED_SECRET_STRING,
  synthesize,
  type Synthesized,
} from './support/synth.js';

describe('CloudFront and the SPA bucket', () => {
  let synth: Synthesized;
  let config: DistributionConfig;
  let distributionId: string;
  let bucketId: string;
  before(() => {
    synth = synthesize();
    ({ id: distributionId, config } = distributionOf(synth));
    bucketId = synth.logicalId('AWS::S3::Bucket', 'SiteBucket');
  });

  it('keeps the bucket private: all public access blocked, encrypted, no website hosting', () => {
    synth.template.resourceCountIs('AWS::S3::Bucket', 1);
    const bucket = synth.resources('AWS::S3::Bucket')[bucketId]!.Properties;
    assert.deepEqual(bucket.PublicAccessBlockConfiguration, BLOCK_ALL_PUBLIC_ACCESS);
    assert.deepEqual(bucket.BucketEncryption, {
      ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }],
    });
    assert.equal(bucket.WebsiteConfiguration, undefined);
    assert.deepEqual(bucket.OwnershipControls, { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] });
  });

  it('lets only this distribution read the bucket, over TLS only', () => {
    const policies = Object.values(synth.resources('AWS::S3::BucketPolicy'));
    assert.equal(policies.length, 1);
    const statements = (policies[0]!.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
    const allows = statements.filter((s) => s.Effect === 'Allow');
    assert.ok(allows.length > 0);
    for (const statement of allows) {
      assert.deepEqual(statement.Principal, { Service: 'cloudfront.amazonaws.com' });
      assert.deepEqual(statement.Condition, { StringEquals: { 'AWS:SourceArn': distributionArn(distributionId) } });
    }
    const actions = allows.flatMap((s) => [s.Action].flat());
    assert.deepEqual(actions.sort(), ['s3:GetObject', 's3:ListBucket']);
    assert.ok(
      statements.some(
        (s) => s.Effect === 'Deny' && JSON.stringify(s.Condition) === '{"Bool":{"aws:SecureTransport":"false"}}',
      ),
      'a statement refusing plain HTTP',
    );
  });

  it('reads the bucket through Origin Access Control, signing every request', () => {
    synth.template.hasResourceProperties('AWS::CloudFront::OriginAccessControl', {
      OriginAccessControlConfig: Match.objectLike({
        OriginAccessControlOriginType: 's3',
        SigningBehavior: 'always',
        SigningProtocol: 'sigv4',
      }),
    });
    const s3Origin = originOf(config, config.DefaultCacheBehavior);
    assert.deepEqual(s3Origin.DomainName, { 'Fn::GetAtt': [bucketId, 'RegionalDomainName'] });
    assert.ok(s3Origin.OriginAccessControlId);
  });

  it('serves the site on its own name with the us-east-1 certificate, TLS 1.2+', () => {
    assert.deepEqual(config.Aliases, ['app.test.example']);
    assert.deepEqual(config.ViewerCertificate, {
      AcmCertificateArn: 'arn:aws:acm:us-east-1:111111111111:certificate/11111111-1111-1111-1111-111111111111',
      MinimumProtocolVersion: 'TLSv1.2_2021',
      SslSupportMethod: 'sni-only',
    });
  });

  it('default behaviour: the bucket, HTTPS redirect, compressed, cached by the objects’ Cache-Control', () => {
    const behaviour = config.DefaultCacheBehavior;
    assert.equal(behaviour.ViewerProtocolPolicy, 'redirect-to-https');
    assert.equal(behaviour.Compress, true);
    assert.equal(behaviour.CachePolicyId, CACHING_OPTIMIZED);
    assert.deepEqual(behaviour.AllowedMethods, ['GET', 'HEAD']);
    assert.equal(behaviour.OriginRequestPolicyId, undefined);
    assert.equal(config.DefaultRootObject, 'index.html');
  });

  it('api/* (no leading slash): the load balancer, never cached, every method, all cookies, headers and query strings but Host', () => {
    assert.equal(config.CacheBehaviors.length, 1);
    const api = config.CacheBehaviors[0]!;
    assert.equal(api.PathPattern, 'api/*');
    assert.equal(api.CachePolicyId, CACHING_DISABLED);
    assert.equal(api.OriginRequestPolicyId, ALL_VIEWER_EXCEPT_HOST_HEADER);
    assert.deepEqual([...api.AllowedMethods].sort(), ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT']);
    assert.equal(api.ViewerProtocolPolicy, 'https-only');
    assert.equal(api.ResponseHeadersPolicyId, undefined, 'Gatehouse sets its own headers on API answers');
    assert.equal(api.FunctionAssociations, undefined, 'the deep-link rewrite must never touch /api');
    const alb = originOf(config, api);
    assert.equal(alb.DomainName, 'origin.app.test.example');
    assert.deepEqual(alb.CustomOriginConfig, {
      OriginProtocolPolicy: 'https-only',
      OriginSSLProtocols: ['TLSv1.2'],
      OriginReadTimeout: 60,
    });
  });

  it('answers deep links with a viewer-request function on the default behaviour only, and no error pages', () => {
    const functionId = synth.logicalId('AWS::CloudFront::Function', 'SpaRewrite');
    assert.deepEqual(config.DefaultCacheBehavior.FunctionAssociations, [
      { EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [functionId, 'FunctionARN'] } },
    ]);
    assert.equal(config.CustomErrorResponses, undefined);
    const fn = synth.resources('AWS::CloudFront::Function')[functionId]!.Properties;
    assert.equal((fn.FunctionConfig as { Runtime: string }).Runtime, 'cloudfront-js-2.0');
    assert.match(fn.FunctionCode as string, /function handler\(event\)/);
    assert.equal(fn.AutoPublish, true);
  });

  it('puts Gatehouse’s page headers on the SPA’s files', () => {
    const policyId = synth.logicalId('AWS::CloudFront::ResponseHeadersPolicy', 'PageHeaders');
    assert.deepEqual(config.DefaultCacheBehavior.ResponseHeadersPolicyId, { Ref: policyId });
    const policy = synth.resources('AWS::CloudFront::ResponseHeadersPolicy')[policyId]!.Properties
      .ResponseHeadersPolicyConfig as Record<string, Record<string, unknown>>;
    assert.deepEqual(policy.SecurityHeadersConfig, {
      ContentSecurityPolicy: { ContentSecurityPolicy: DEFAULT_CONTENT_SECURITY_POLICY, Override: true },
      ContentTypeOptions: { Override: true },
      FrameOptions: { FrameOption: 'DENY', Override: true },
      ReferrerPolicy: { ReferrerPolicy: 'no-referrer', Override: true },
      StrictTransportSecurity: { AccessControlMaxAgeSec: 31536000, IncludeSubdomains: true, Override: true },
    });
    assert.deepEqual(policy.CustomHeadersConfig, {
      Items: [{ Header: 'Cross-Origin-Opener-Policy', Value: 'same-origin', Override: true }],
    });
  });

  it('uses Gatehouse’s own default CSP for those pages', async () => {
    const { configKeys } = await import('gatehouse');
    const key = configKeys().find((k) => k.path === 'security.headers.contentSecurityPolicy');
    assert.equal(key?.default, DEFAULT_CONTENT_SECURITY_POLICY);
  });

  it('sends the origin-verify header as a Secrets Manager dynamic reference, never a value', () => {
    const secretA = synth.logicalId('AWS::SecretsManager::Secret', 'OriginVerifySecretA');
    const alb = originOf(config, config.CacheBehaviors[0]!);
    assert.deepEqual(alb.OriginCustomHeaders, [
      { HeaderName: 'X-Origin-Verify', HeaderValue: dynamicReference(secretA) },
    ]);
    const s3Origin = originOf(config, config.DefaultCacheBehavior);
    assert.equal(s3Origin.OriginCustomHeaders, undefined, 'the bucket never sees the secret');
  });

  it('generates the origin-verify secrets: 64 letters and digits, no literal anywhere in the template', () => {
    for (const slot of ['A', 'B']) {
      const id = synth.logicalId('AWS::SecretsManager::Secret', `OriginVerifySecret${slot}`);
      const secret = synth.resources('AWS::SecretsManager::Secret')[id]!.Properties;
      assert.equal(secret.SecretString, undefined);
      assert.deepEqual(secret.GenerateSecretString, GENERATED_SECRET_STRING);
    }
    const everySecret = Object.values(synth.resources('AWS::SecretsManager::Secret'));
    assert.ok(everySecret.every((s) => s.Properties.SecretString === undefined));
  });

  it('creates no DNS records without a hosted zone, and outputs what the next steps need', () => {
    synth.template.resourceCountIs('AWS::Route53::RecordSet', 0);
    const outputs = synth.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    assert.deepEqual(outputs.DistributionDomainName!.Value, { 'Fn::GetAtt': [distributionId, 'DomainName'] });
    assert.deepEqual(outputs.DistributionId!.Value, { Ref: distributionId });
    assert.deepEqual(outputs.BucketName!.Value, { Ref: bucketId });
    const albId = synth.logicalId('AWS::ElasticLoadBalancingV2::LoadBalancer', 'LoadBalancer');
    assert.deepEqual(outputs.LoadBalancerDnsName!.Value, { 'Fn::GetAtt': [albId, 'DNSName'] });
  });
});
