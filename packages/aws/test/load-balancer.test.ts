/**
 * The load balancer: internet-facing but useless without CloudFront's secret header. HTTPS only,
 * default answer 403, one rule forwarding requests that carry the header, and, given the
 * CloudFront prefix list, no connections from anywhere else.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { dynamicReference, groupId, ingressOf, ref, synthesize, type Synthesized } from './support/synth.js';

type Props = Record<string, unknown>;

describe('load balancer', () => {
  let synth: Synthesized;
  let restricted: Synthesized;
  let albSg: string;
  before(() => {
    synth = synthesize();
    restricted = synthesize({ cloudFrontPrefixListId: 'pl-4fa04526' });
    albSg = synth.logicalId('AWS::EC2::SecurityGroup', 'LoadBalancerSecurityGroup');
  });

  it('is internet-facing in the public subnets, dropping malformed headers', () => {
    const alb = Object.values(synth.resources('AWS::ElasticLoadBalancingV2::LoadBalancer'));
    assert.equal(alb.length, 1);
    const props = alb[0]!.Properties;
    assert.equal(props.Scheme, 'internet-facing');
    assert.deepEqual(props.SecurityGroups, [groupId(albSg)]);
    const publicSubnets = Object.keys(synth.resources('AWS::EC2::Subnet'))
      .filter((id) => id.includes('publicSubnet'))
      .sort();
    assert.equal(publicSubnets.length, 2);
    assert.deepEqual((props.Subnets as { Ref: string }[]).map((s) => s.Ref).sort(), publicSubnets);
    assert.ok(
      (props.LoadBalancerAttributes as { Key: string; Value: string }[]).some(
        (a) => a.Key === 'routing.http.drop_invalid_header_fields.enabled' && a.Value === 'true',
      ),
    );
  });

  it('has one listener: HTTPS on 443 with the regional certificate, answering 403 by default', () => {
    const listeners = Object.values(synth.resources('AWS::ElasticLoadBalancingV2::Listener'));
    assert.equal(listeners.length, 1, 'no port 80 listener');
    const listener = listeners[0]!.Properties;
    assert.equal(listener.Port, 443);
    assert.equal(listener.Protocol, 'HTTPS');
    assert.equal(listener.SslPolicy, 'ELBSecurityPolicy-TLS13-1-2-2021-06');
    assert.deepEqual(listener.Certificates, [
      { CertificateArn: 'arn:aws:acm:eu-west-1:111111111111:certificate/22222222-2222-2222-2222-222222222222' },
    ]);
    assert.deepEqual(listener.DefaultActions, [
      {
        Type: 'fixed-response',
        FixedResponseConfig: { StatusCode: '403', ContentType: 'text/plain', MessageBody: 'Forbidden' },
      },
    ]);
  });

  it('forwards to Gatehouse only requests whose X-Origin-Verify is the secret', () => {
    const rules = Object.values(synth.resources('AWS::ElasticLoadBalancingV2::ListenerRule'));
    assert.equal(rules.length, 1);
    const rule = rules[0]!.Properties;
    const listenerId = synth.logicalId('AWS::ElasticLoadBalancingV2::Listener', 'Https');
    const targetGroupId = synth.logicalId('AWS::ElasticLoadBalancingV2::TargetGroup', 'Targets');
    const secretA = synth.logicalId('AWS::SecretsManager::Secret', 'OriginVerifySecretA');
    assert.deepEqual(rule.ListenerArn, ref(listenerId));
    assert.deepEqual(rule.Conditions, [
      {
        Field: 'http-header',
        HttpHeaderConfig: { HttpHeaderName: 'X-Origin-Verify', Values: [dynamicReference(secretA)] },
      },
    ]);
    assert.deepEqual(rule.Actions, [{ Type: 'forward', TargetGroupArn: ref(targetGroupId) }]);
  });

  it('without a prefix list: accepts 443 from anywhere and nothing else (the header rule refuses the rest)', () => {
    assert.deepEqual(ingressOf(synth, albSg), [
      { CidrIp: '0.0.0.0/0', Description: 'HTTPS from CloudFront', FromPort: 443, IpProtocol: 'tcp', ToPort: 443 },
    ]);
  });

  it('with the CloudFront prefix list: accepts 443 from CloudFront only', () => {
    const id = restricted.logicalId('AWS::EC2::SecurityGroup', 'LoadBalancerSecurityGroup');
    assert.deepEqual(ingressOf(restricted, id), [
      {
        SourcePrefixListId: 'pl-4fa04526',
        Description: 'HTTPS from CloudFront',
        FromPort: 443,
        IpProtocol: 'tcp',
        ToPort: 443,
      },
    ]);
  });

  it('may open connections only to the Gatehouse tasks, on their two ports', () => {
    const sg = synth.resources('AWS::EC2::SecurityGroup')[albSg]!.Properties;
    // CDK's marker for "no egress" (an impossible ICMP rule): nothing but the rules below.
    assert.deepEqual(sg.SecurityGroupEgress, undefined);
    const taskSg = synth.logicalId('AWS::EC2::SecurityGroup', 'GatehouseSecurityGroup');
    const egress = Object.values(synth.resources('AWS::EC2::SecurityGroupEgress'))
      .map((r) => r.Properties as Props)
      .filter((p) => JSON.stringify(p.GroupId) === JSON.stringify(groupId(albSg)));
    assert.deepEqual(
      egress
        .map((p) => [p.DestinationSecurityGroupId, p.FromPort, p.ToPort])
        .sort((a, b) => Number(a[1]) - Number(b[1])),
      [
        [groupId(taskSg), 8080, 8080],
        [groupId(taskSg), 9090, 9090],
      ],
    );
  });
});
