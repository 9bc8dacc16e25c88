/**
 * Deployment options: a hosted zone (given by id and name), an account and region, the OIDC client
 * secret by ARN, a private ECR image on ARM: alias records, explicit AZs, the right grants, and still
 * nothing to look up in the account.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { Token, type App } from 'aws-cdk-lib';
import { synthesize, type Synthesized } from './support/synth.js';

const OIDC_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:shop/oidc-AbCdEf';

describe('deployment options', () => {
  let synth: Synthesized;
  before(() => {
    synth = synthesize(
      {
        hostedZoneId: 'Z0123456789ABCDEFGHIJ',
        hostedZoneName: 'test.example',
        account: '111111111111',
        region: 'eu-west-1',
        oidcClientSecretArn: OIDC_SECRET_ARN,
        image: '123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/gatehouse:1.2.3',
        cpuArchitecture: 'arm64',
      },
      { contextImage: true },
    );
  });

  const records = () =>
    Object.values(synth.resources('AWS::Route53::RecordSet')).map((r) => r.Properties) as {
      Name: string;
      Type: string;
      HostedZoneId: string;
      AliasTarget: { DNSName: unknown; HostedZoneId: unknown };
    }[];

  it('points the site name (A and AAAA) at CloudFront', () => {
    const distribution = synth.logicalId('AWS::CloudFront::Distribution', 'Distribution');
    const site = records().filter((r) => r.Name === 'app.test.example.');
    assert.deepEqual(site.map((r) => r.Type).sort(), ['A', 'AAAA']);
    const mappings = synth.template.toJSON().Mappings as Record<string, Record<string, { zoneId: string }>>;
    assert.equal(mappings.AWSCloudFrontPartitionHostedZoneIdMap!.aws!.zoneId, 'Z2FDTNDATAQYW2', "CloudFront's zone");
    for (const record of site) {
      assert.equal(record.HostedZoneId, 'Z0123456789ABCDEFGHIJ');
      assert.deepEqual(record.AliasTarget.DNSName, { 'Fn::GetAtt': [distribution, 'DomainName'] });
      assert.deepEqual(record.AliasTarget.HostedZoneId, {
        'Fn::FindInMap': ['AWSCloudFrontPartitionHostedZoneIdMap', { Ref: 'AWS::Partition' }, 'zoneId'],
      });
    }
  });

  it('points the origin name at the load balancer', () => {
    const alb = synth.logicalId('AWS::ElasticLoadBalancingV2::LoadBalancer', 'LoadBalancer');
    const origin = records().filter((r) => r.Name === 'origin.app.test.example.');
    assert.equal(origin.length, 1);
    assert.equal(origin[0]!.Type, 'A');
    assert.equal(
      JSON.stringify(origin[0]!.AliasTarget.DNSName),
      JSON.stringify({ 'Fn::Join': ['', ['dualstack.', { 'Fn::GetAtt': [alb, 'DNSName'] }]] }),
    );
    assert.equal(records().length, 3);
  });

  it('uses the region’s a and b AZs and needs no context lookup', () => {
    assert.equal(synth.stack.region, 'eu-west-1');
    assert.equal(synth.stack.account, '111111111111');
    const azs = Object.values(synth.resources('AWS::EC2::Subnet')).map((s) => s.Properties.AvailabilityZone);
    assert.deepEqual([...new Set(azs)].sort(), ['eu-west-1a', 'eu-west-1b']);
    const assembly = (synth.stack.node.root as App).synth();
    assert.equal(assembly.manifest.missing, undefined, 'cdk synth would have to call AWS');
  });

  it('takes the OIDC client secret by full ARN when given one', () => {
    const task = Object.values(synth.resources('AWS::ECS::TaskDefinition'))[0]!.Properties;
    const [container] = task.ContainerDefinitions as { Secrets: { Name: string; ValueFrom: unknown }[] }[];
    const oidc = container!.Secrets.find((s) => s.Name === 'OIDC_CLIENT_SECRET');
    assert.equal(oidc?.ValueFrom, OIDC_SECRET_ARN);
  });

  it('pulls a private ECR image with a grant to the execution role, on ARM64 tasks', () => {
    const task = Object.values(synth.resources('AWS::ECS::TaskDefinition'))[0]!.Properties;
    assert.deepEqual(task.RuntimePlatform, { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' });
    const [container] = task.ContainerDefinitions as { Image: unknown }[];
    assert.deepEqual(container!.Image, {
      'Fn::Join': ['', ['123456789012.dkr.ecr.eu-west-1.', { Ref: 'AWS::URLSuffix' }, '/team/gatehouse:1.2.3']],
    });
    const policy = Object.values(synth.resources('AWS::IAM::Policy')).find((p) =>
      JSON.stringify(p.Properties.Roles).includes('TaskExecutionRole'),
    )!;
    const statements = (policy.Properties.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] })
      .Statement;
    const pull = statements.find((s) => JSON.stringify(s.Action).includes('ecr:BatchGetImage'));
    assert.equal(pull?.Resource, 'arn:aws:ecr:eu-west-1:123456789012:repository/team/gatehouse');
    assert.ok(statements.some((s) => s.Action === 'ecr:GetAuthorizationToken' && s.Resource === '*'));
  });

  it('stays environment-agnostic without account and region', () => {
    const agnostic = synthesize();
    assert.ok(Token.isUnresolved(agnostic.stack.region), 'the region is known only at deploy time');
    assert.ok(Token.isUnresolved(agnostic.stack.account));
    const assembly = (agnostic.stack.node.root as App).synth();
    assert.equal(assembly.manifest.missing, undefined);
  });
});
