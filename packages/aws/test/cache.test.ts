/**
 * The session cache and the internal APIs: private, reachable from the Gatehouse tasks only.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import {
  dynamicReference,
  GENERATED_SECRET_STRING,
  groupId,
  ingressOf,
  ref,
  synthesize,
  type Synthesized,
} from './support/synth.js';

describe('session cache and internal APIs', () => {
  let synth: Synthesized;
  let cache: Record<string, unknown>;
  let taskSg: string;
  before(() => {
    synth = synthesize();
    const groups = Object.values(synth.resources('AWS::ElastiCache::ReplicationGroup'));
    assert.equal(groups.length, 1);
    cache = groups[0]!.Properties;
    taskSg = synth.logicalId('AWS::EC2::SecurityGroup', 'GatehouseSecurityGroup');
  });

  it('is a Valkey replication group: primary and replica in two AZs with automatic failover', () => {
    assert.equal(cache.Engine, 'valkey');
    assert.equal(cache.NumCacheClusters, 2);
    assert.equal(cache.MultiAZEnabled, true);
    assert.equal(cache.AutomaticFailoverEnabled, true);
    assert.equal(cache.Port, 6379);
  });

  it('requires TLS, encrypts at rest, and requires AUTH with a generated token by dynamic reference', () => {
    assert.equal(cache.TransitEncryptionEnabled, true);
    assert.equal(cache.TransitEncryptionMode, 'required');
    assert.equal(cache.AtRestEncryptionEnabled, true);
    const token = synth.logicalId('AWS::SecretsManager::Secret', 'AuthToken');
    assert.deepEqual(cache.AuthToken, dynamicReference(token));
    const secret = synth.resources('AWS::SecretsManager::Secret')[token]!.Properties;
    // ElastiCache: 16-128 characters, only a few punctuation marks allowed; none is used.
    assert.deepEqual(secret.GenerateSecretString, GENERATED_SECRET_STRING);
  });

  it('lives in the private subnets', () => {
    const subnetGroups = Object.entries(synth.resources('AWS::ElastiCache::SubnetGroup'));
    assert.equal(subnetGroups.length, 1);
    const [id, group] = subnetGroups[0]!;
    assert.deepEqual(cache.CacheSubnetGroupName, ref(id));
    const privateSubnets = Object.keys(synth.resources('AWS::EC2::Subnet'))
      .filter((subnet) => subnet.includes('privateSubnet'))
      .sort();
    assert.deepEqual((group.Properties.SubnetIds as { Ref: string }[]).map((s) => s.Ref).sort(), privateSubnets);
  });

  it('accepts 6379 from the Gatehouse tasks only, and opens no connections itself', () => {
    const cacheSg = synth.logicalId('AWS::EC2::SecurityGroup', 'SessionsSecurityGroup');
    assert.deepEqual(cache.SecurityGroupIds, [groupId(cacheSg)]);
    assert.deepEqual(
      ingressOf(synth, cacheSg).map((r) => [r.SourceSecurityGroupId, r.FromPort, r.ToPort, r.IpProtocol]),
      [[groupId(taskSg), 6379, 6379, 'tcp']],
    );
    const sg = synth.resources('AWS::EC2::SecurityGroup')[cacheSg]!.Properties;
    assert.deepEqual(sg.SecurityGroupEgress, [
      {
        CidrIp: '255.255.255.255/32',
        Description: 'Disallow all traffic',
        FromPort: 252,
        IpProtocol: 'icmp',
        ToPort: 86,
      },
    ]);
  });

  it('lets only the Gatehouse tasks reach an internal API, on its port, with no public ingress', () => {
    const apiSg = synth.logicalId('AWS::EC2::SecurityGroup', 'InternalApiSecurityGroup');
    assert.deepEqual(ingressOf(synth, apiSg), [
      {
        Description: 'From Gatehouse',
        FromPort: 8080,
        ToPort: 8080,
        IpProtocol: 'tcp',
        SourceSecurityGroupId: groupId(taskSg),
      },
    ]);
    const outputs = synth.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    assert.deepEqual(outputs.InternalApiSecurityGroupId!.Value, groupId(apiSg));
  });

  it('gives no security group any ingress from the internet but the load balancer’s 443', () => {
    const albSg = synth.logicalId('AWS::EC2::SecurityGroup', 'LoadBalancerSecurityGroup');
    for (const id of Object.keys(synth.resources('AWS::EC2::SecurityGroup'))) {
      for (const rule of ingressOf(synth, id)) {
        if (rule.CidrIp === undefined && rule.CidrIpv6 === undefined) continue;
        assert.equal(id, albSg, `${id} accepts ${String(rule.CidrIp ?? rule.CidrIpv6)}`);
        assert.equal(rule.FromPort, 443);
      }
    }
  });
});
