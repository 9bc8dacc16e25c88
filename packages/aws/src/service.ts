import { Duration, Size, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { gatehouseImageFromSource } from './container-image.js';
import { ADMIN_PORT, PUBLIC_PORT } from './load-balancer.js';

/** Size, scaling and logging of the Gatehouse tasks. */
export interface GatehouseServiceOptions {
  /** @default the image built from this repository's Dockerfile (see container-image.ts) */
  readonly image?: ecs.ContainerImage;
  /** Must match the image. @default X86_64 */
  readonly cpuArchitecture?: ecs.CpuArchitecture;
  /** @default 512 (0.5 vCPU) */
  readonly cpu?: number;
  /** @default 1024 */
  readonly memoryLimitMiB?: number;
  /** Never fewer, so one task's failure or one AZ's outage leaves one serving. @default 2 */
  readonly minTasks?: number;
  /** @default 10 */
  readonly maxTasks?: number;
  /** Average CPU the scaling aims for. @default 60 */
  readonly targetCpuPercent?: number;
  /** Requests per task per minute the scaling aims for; 0 scales on CPU alone. @default 3000 */
  readonly requestsPerTaskPerMinute?: number;
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
}

export interface GatehouseServiceProps extends GatehouseServiceOptions {
  readonly vpc: ec2.IVpc;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly loadBalancerSecurityGroup: ec2.ISecurityGroup;
  /** The whole configuration, as JSON (which Gatehouse reads like YAML), given to the container as GATEHOUSE_CONFIG. */
  readonly configDocument: string;
  /** Environment variables filled from Secrets Manager (the configuration's `${NAME}`s). */
  readonly secrets: Record<string, ecs.Secret>;
}

export const CONTAINER_NAME = 'gatehouse';

/**
 * Gatehouse on Fargate in the private subnets, without public addresses: the load balancer is the
 * only way in. Deployments roll with the old tasks serving until the new ones are healthy, and roll
 * back by themselves when the new ones never get there.
 */
export class GatehouseService extends Construct {
  readonly service: ecs.FargateService;
  readonly securityGroup: ec2.SecurityGroup;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: GatehouseServiceProps) {
    super(scope, id);
    const architecture = props.cpuArchitecture ?? ecs.CpuArchitecture.X86_64;
    const cluster = new ecs.Cluster(this, 'Cluster', { vpc: props.vpc });
    const taskDefinition = new ecs.FargateTaskDefinition(this, 'Task', {
      cpu: props.cpu ?? 512,
      memoryLimitMiB: props.memoryLimitMiB ?? 1024,
      runtimePlatform: { cpuArchitecture: architecture, operatingSystemFamily: ecs.OperatingSystemFamily.LINUX },
    });
    // GATEHOUSE_CONFIG holds ${NAME} references for Gatehouse to fill from the task's secrets.
    // CloudFormation leaves them alone (they are in an Fn::Join, not an Fn::Sub); cfn-lint cannot tell.
    Validations.of(taskDefinition).acknowledge({
      id: 'CloudFormation-Validate::E1029',
      reason: "${NAME} in GATEHOUSE_CONFIG is Gatehouse's environment substitution, not CloudFormation's",
    });
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH });
    taskDefinition.addContainer(CONTAINER_NAME, {
      image: props.image ?? gatehouseImageFromSource(architecture),
      // The image's entrypoint is the gatehouse CLI; with no --config it reads GATEHOUSE_CONFIG.
      command: ['start'],
      environment: { GATEHOUSE_CONFIG: props.configDocument, NODE_ENV: 'production' },
      secrets: props.secrets,
      portMappings: [
        { name: 'public', containerPort: PUBLIC_PORT },
        { name: 'admin', containerPort: ADMIN_PORT },
      ],
      readonlyRootFilesystem: true,
      logging: ecs.LogDrivers.awsLogs({
        logGroup: this.logGroup,
        streamPrefix: 'gatehouse',
        // A slow CloudWatch must never block Gatehouse's stdout, and so its requests.
        mode: ecs.AwsLogDriverMode.NON_BLOCKING,
        maxBufferSize: Size.mebibytes(25),
      }),
    });

    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Gatehouse tasks: public and admin listeners from the load balancer only',
      // Out: the identity provider (internet), internal APIs, Redis, ECR, Secrets Manager, logs.
      allowAllOutbound: true,
    });

    this.service = new ecs.FargateService(this, 'Service', {
      cluster,
      taskDefinition,
      // No desiredCount: autoscaling owns it, and a fixed one would reset it on every deploy.
      assignPublicIp: false,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup],
      circuitBreaker: { enable: true, rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      healthCheckGracePeriod: Duration.seconds(60),
    });
    // Registers the tasks' public port and lets the load balancer reach it.
    props.targetGroup.addTarget(
      this.service.loadBalancerTarget({ containerName: CONTAINER_NAME, containerPort: PUBLIC_PORT }),
    );
    // The health check's port.
    this.service.connections.allowFrom(props.loadBalancerSecurityGroup, ec2.Port.tcp(ADMIN_PORT), 'Health checks');

    const scaling = this.service.autoScaleTaskCount({
      minCapacity: props.minTasks ?? 2,
      maxCapacity: props.maxTasks ?? 10,
    });
    scaling.scaleOnCpuUtilization('Cpu', { targetUtilizationPercent: props.targetCpuPercent ?? 60 });
    const requests = props.requestsPerTaskPerMinute ?? 3000;
    if (requests > 0) {
      scaling.scaleOnRequestCount('Requests', { requestsPerTarget: requests, targetGroup: props.targetGroup });
    }
  }
}
