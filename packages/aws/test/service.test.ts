/**
 * Gatehouse on Fargate: private subnets without public addresses, reachable only from the load
 * balancer, scaled on CPU and requests from two tasks up, health-checked on the admin listener,
 * rolled back by the circuit breaker, with every secret injected by ECS and none in plain env.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { groupId, ingressOf, ref, synthesize, type Synthesized } from './support/synth.js';

interface Container {
  Name: string;
  Image: unknown;
  Command: string[];
  Environment: { Name: string; Value: unknown }[];
  Secrets: { Name: string; ValueFrom: unknown }[];
  PortMappings: { ContainerPort: number; Name: string; Protocol: string }[];
  ReadonlyRootFilesystem: boolean;
  LogConfiguration: { LogDriver: string; Options: Record<string, unknown> };
}

describe('Gatehouse service', () => {
  let synth: Synthesized;
  let service: Record<string, unknown>;
  let container: Container;
  let taskSg: string;
  let albSg: string;
  before(() => {
    synth = synthesize();
    const services = Object.values(synth.resources('AWS::ECS::Service'));
    assert.equal(services.length, 1);
    service = services[0]!.Properties;
    const task = Object.values(synth.resources('AWS::ECS::TaskDefinition'))[0]!.Properties;
    const containers = task.ContainerDefinitions as Container[];
    assert.equal(containers.length, 1);
    container = containers[0]!;
    taskSg = synth.logicalId('AWS::EC2::SecurityGroup', 'GatehouseSecurityGroup');
    albSg = synth.logicalId('AWS::EC2::SecurityGroup', 'LoadBalancerSecurityGroup');
  });

  it('runs on Fargate in the private subnets, with no public IP, behind the target group', () => {
    assert.equal(service.LaunchType, 'FARGATE');
    const network = (service.NetworkConfiguration as { AwsvpcConfiguration: Record<string, unknown> })
      .AwsvpcConfiguration;
    assert.equal(network.AssignPublicIp, 'DISABLED');
    assert.deepEqual(network.SecurityGroups, [groupId(taskSg)]);
    const privateSubnets = Object.keys(synth.resources('AWS::EC2::Subnet'))
      .filter((id) => id.includes('privateSubnet'))
      .sort();
    assert.equal(privateSubnets.length, 2);
    assert.deepEqual((network.Subnets as { Ref: string }[]).map((s) => s.Ref).sort(), privateSubnets);
    const targetGroup = synth.logicalId('AWS::ElasticLoadBalancingV2::TargetGroup', 'Targets');
    assert.deepEqual(service.LoadBalancers, [
      { ContainerName: 'gatehouse', ContainerPort: 8080, TargetGroupArn: ref(targetGroup) },
    ]);
  });

  it('rolls deployments with a circuit breaker that rolls back, never below full capacity', () => {
    assert.deepEqual(service.DeploymentConfiguration, {
      DeploymentCircuitBreaker: { Enable: true, Rollback: true },
      MaximumPercent: 200,
      MinimumHealthyPercent: 100,
    });
    assert.equal(service.DesiredCount, undefined, 'autoscaling owns the count');
  });

  it('scales from 2 to 10 tasks on CPU and on requests per task', () => {
    synth.template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      MinCapacity: 2,
      MaxCapacity: 10,
      ScalableDimension: 'ecs:service:DesiredCount',
      ServiceNamespace: 'ecs',
    });
    const policies = Object.values(synth.resources('AWS::ApplicationAutoScaling::ScalingPolicy')).map(
      (p) =>
        p.Properties.TargetTrackingScalingPolicyConfiguration as {
          PredefinedMetricSpecification: { PredefinedMetricType: string };
          TargetValue: number;
        },
    );
    assert.deepEqual(
      policies.map((p) => [p.PredefinedMetricSpecification.PredefinedMetricType, p.TargetValue]).sort(),
      [
        ['ALBRequestCountPerTarget', 3000],
        ['ECSServiceAverageCPUUtilization', 60],
      ],
    );
  });

  it('health-checks /healthz on the admin port 9090 while traffic goes to 8080', () => {
    const groups = Object.values(synth.resources('AWS::ElasticLoadBalancingV2::TargetGroup'));
    assert.equal(groups.length, 1);
    const tg = groups[0]!.Properties;
    assert.equal(tg.Port, 8080);
    assert.equal(tg.Protocol, 'HTTP');
    assert.equal(tg.TargetType, 'ip');
    assert.equal(tg.HealthCheckPort, '9090');
    assert.equal(tg.HealthCheckPath, '/healthz');
    assert.deepEqual(tg.Matcher, { HttpCode: '200' });
    assert.equal(service.HealthCheckGracePeriodSeconds, 60);
  });

  it('accepts connections only from the load balancer, on 8080 and 9090', () => {
    const rules = ingressOf(synth, taskSg).map((r) => [r.SourceSecurityGroupId, r.FromPort, r.ToPort, r.CidrIp]);
    assert.deepEqual(
      rules.sort((a, b) => Number(a[1]) - Number(b[1])),
      [
        [groupId(albSg), 8080, 8080, undefined],
        [groupId(albSg), 9090, 9090, undefined],
      ],
    );
  });

  it('runs the image’s gatehouse CLI with "start", both listeners mapped, a read-only root filesystem', () => {
    assert.equal(container.Image, 'public.ecr.aws/test/gatehouse:1.0.0');
    assert.deepEqual(container.Command, ['start']);
    assert.deepEqual(
      container.PortMappings.map((p) => [p.Name, p.ContainerPort, p.Protocol]),
      [
        ['public', 8080, 'tcp'],
        ['admin', 9090, 'tcp'],
      ],
    );
    assert.equal(container.ReadonlyRootFilesystem, true);
  });

  it('logs to CloudWatch with a retention, never blocking on it', () => {
    const logGroup = synth.logicalId('AWS::Logs::LogGroup', 'GatehouseLogs');
    synth.template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
    assert.equal(container.LogConfiguration.LogDriver, 'awslogs');
    assert.deepEqual(container.LogConfiguration.Options['awslogs-group'], ref(logGroup));
    assert.equal(container.LogConfiguration.Options.mode, 'non-blocking');
  });

  it('injects every secret through ECS secrets, each from its own Secrets Manager secret', () => {
    const secret = (hint: string) => ref(synth.logicalId('AWS::SecretsManager::Secret', hint));
    const byName = Object.fromEntries(container.Secrets.map((s) => [s.Name, s.ValueFrom]));
    assert.deepEqual(Object.keys(byName).sort(), [
      'OIDC_CLIENT_SECRET',
      'ORIGIN_VERIFY_SECRET',
      'REDIS_PASSWORD',
      'SESSION_SECRET',
    ]);
    assert.deepEqual(byName.SESSION_SECRET, secret('SessionSecret'));
    assert.deepEqual(byName.REDIS_PASSWORD, secret('AuthToken'));
    assert.deepEqual(byName.ORIGIN_VERIFY_SECRET, secret('OriginVerifySecretA'));
    // The client secret the user created, by name (no lookup): partial ARN in this account and region.
    assert.match(JSON.stringify(byName.OIDC_CLIENT_SECRET), /:secret:gatehouse\/oidc-client-secret"/);
  });

  it('keeps secrets out of plain environment variables', () => {
    assert.deepEqual(container.Environment.map((e) => e.Name).sort(), ['GATEHOUSE_CONFIG', 'NODE_ENV']);
    const plain = JSON.stringify(container.Environment);
    assert.doesNotMatch(plain, /resolve:secretsmanager/);
    for (const name of ['OIDC_CLIENT_SECRET', 'SESSION_SECRET', 'REDIS_PASSWORD', 'ORIGIN_VERIFY_SECRET']) {
      // Only as a ${NAME} reference for Gatehouse to fill in, never a value.
      assert.ok(plain.includes(`\${${name}}`), name);
    }
  });

  it('lets the task execution role read exactly those secrets', () => {
    const policies = Object.values(synth.resources('AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes('TaskExecutionRole'),
    );
    assert.equal(policies.length, 1);
    const statements = (
      policies[0]!.Properties.PolicyDocument as { Statement: { Action: unknown; Resource: unknown }[] }
    ).Statement;
    const secretReads = statements.filter((s) => JSON.stringify(s.Action).includes('secretsmanager:GetSecretValue'));
    const resources = JSON.stringify(secretReads.map((s) => s.Resource));
    for (const hint of ['SessionSecret', 'AuthToken', 'OriginVerifySecretA']) {
      assert.ok(resources.includes(synth.logicalId('AWS::SecretsManager::Secret', hint)), hint);
    }
    assert.ok(resources.includes('gatehouse/oidc-client-secret'));
    assert.ok(!resources.includes(synth.logicalId('AWS::SecretsManager::Secret', 'OriginVerifySecretB')));
  });
});
