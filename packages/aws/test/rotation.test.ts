/**
 * Rotating the origin-verify secret without a moment of refused traffic (docs/deploy-aws.md): two
 * secrets always exist; CloudFront sends the active one; the load balancer rule and Gatehouse accept
 * the active one, plus the other while `originVerifyAcceptBoth` is on.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { distributionOf } from './support/cloudfront.js';
import { dynamicReference, ref, synthesize, type Synthesized } from './support/synth.js';

interface Phase {
  synth: Synthesized;
  /** Logical ids of the two secrets. */
  a: string;
  b: string;
  /** What CloudFront sends. */
  sent: unknown;
  /** What the load balancer rule accepts. */
  accepted: unknown[];
  /** ECS secrets env name -> secret. */
  env: Record<string, unknown>;
  /** The origin-verify values in GATEHOUSE_CONFIG. */
  gatehouse: string[];
}

function phase(context: Record<string, string>): Phase {
  const synth = synthesize(context);
  const a = synth.logicalId('AWS::SecretsManager::Secret', 'OriginVerifySecretA');
  const b = synth.logicalId('AWS::SecretsManager::Secret', 'OriginVerifySecretB');
  const headers = distributionOf(synth).config.Origins.flatMap((o) => o.OriginCustomHeaders ?? []);
  assert.equal(headers.length, 1);
  const rule = Object.values(synth.resources('AWS::ElasticLoadBalancingV2::ListenerRule'))[0]!.Properties as {
    Conditions: { HttpHeaderConfig: { Values: unknown[] } }[];
  };
  const task = Object.values(synth.resources('AWS::ECS::TaskDefinition'))[0]!.Properties;
  const container = (
    task.ContainerDefinitions as {
      Secrets: { Name: string; ValueFrom: unknown }[];
      Environment: { Name: string; Value: { 'Fn::Join': [string, unknown[]] } }[];
    }[]
  )[0]!;
  const config = container.Environment.find((e) => e.Name === 'GATEHOUSE_CONFIG')!
    .Value['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'resolved-at-deploy'))
    .join('');
  return {
    synth,
    a,
    b,
    sent: headers[0]!.HeaderValue,
    accepted: rule.Conditions[0]!.HttpHeaderConfig.Values,
    env: Object.fromEntries(
      container.Secrets.filter((s) => s.Name.startsWith('ORIGIN_VERIFY')).map((s) => [s.Name, s.ValueFrom]),
    ),
    gatehouse: (JSON.parse(config) as { security: { originVerify: { secrets: string[] } } }).security.originVerify
      .secrets,
  };
}

describe('origin-verify rotation', () => {
  let steady: Phase;
  let acceptBoth: Phase;
  let sendB: Phase;
  let steadyB: Phase;
  before(() => {
    steady = phase({});
    acceptBoth = phase({ originVerifyAcceptBoth: 'true' });
    sendB = phase({ originVerifyAcceptBoth: 'true', originVerifyActive: 'b' });
    steadyB = phase({ originVerifyActive: 'b' });
  });

  it('steady: CloudFront sends A, only A is accepted', () => {
    assert.deepEqual(steady.sent, dynamicReference(steady.a));
    assert.deepEqual(steady.accepted, [dynamicReference(steady.a)]);
    assert.deepEqual(steady.env, { ORIGIN_VERIFY_SECRET: ref(steady.a) });
    assert.deepEqual(steady.gatehouse, ['${ORIGIN_VERIFY_SECRET}']);
  });

  it('step 1: A and B both accepted by the load balancer and Gatehouse, CloudFront still sends A', () => {
    assert.deepEqual(acceptBoth.sent, dynamicReference(acceptBoth.a));
    assert.deepEqual(acceptBoth.accepted, [dynamicReference(acceptBoth.a), dynamicReference(acceptBoth.b)]);
    assert.deepEqual(acceptBoth.env, {
      ORIGIN_VERIFY_SECRET: ref(acceptBoth.a),
      ORIGIN_VERIFY_SECRET_STANDBY: ref(acceptBoth.b),
    });
    assert.deepEqual(acceptBoth.gatehouse, ['${ORIGIN_VERIFY_SECRET}', '${ORIGIN_VERIFY_SECRET_STANDBY}']);
  });

  it('step 2: CloudFront switches to B while both are still accepted', () => {
    assert.deepEqual(sendB.sent, dynamicReference(sendB.b));
    assert.deepEqual(sendB.accepted, [dynamicReference(sendB.b), dynamicReference(sendB.a)]);
    assert.deepEqual(sendB.env, { ORIGIN_VERIFY_SECRET: ref(sendB.b), ORIGIN_VERIFY_SECRET_STANDBY: ref(sendB.a) });
  });

  it('step 3: only B is accepted; A is unused and can be given a new value for next time', () => {
    assert.deepEqual(steadyB.sent, dynamicReference(steadyB.b));
    assert.deepEqual(steadyB.accepted, [dynamicReference(steadyB.b)]);
    assert.deepEqual(steadyB.env, { ORIGIN_VERIFY_SECRET: ref(steadyB.b) });
  });

  it('keeps both secrets, with the same logical ids, in every phase (nothing is deleted mid-rotation)', () => {
    for (const p of [acceptBoth, sendB, steadyB]) {
      assert.equal(p.a, steady.a);
      assert.equal(p.b, steady.b);
    }
  });
});
