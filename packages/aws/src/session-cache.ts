import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { dynamicReference, generatedSecret } from './secrets.js';

export const REDIS_PORT = 6379;

/** Size and version of the session cache. */
export interface SessionCacheOptions {
  /** @default 'cache.t4g.micro' (0.5 GiB: on the order of 100,000 sessions of a few KB each) */
  readonly nodeType?: string;
  /** @default 'valkey' */
  readonly engine?: 'valkey' | 'redis';
  /** @default '8.0' */
  readonly engineVersion?: string;
  /** Nodes: one primary and the rest replicas in other AZs. At least 2 for automatic failover. @default 2 */
  readonly nodes?: number;
}

export interface SessionCacheProps extends SessionCacheOptions {
  readonly vpc: ec2.IVpc;
}

/**
 * Where Gatehouse's sessions and rate-limit counters live, shared by every task.
 *
 * A node-based replication group with cluster mode off, not ElastiCache Serverless: Serverless
 * speaks the cluster protocol (multi-key commands must share a hash slot) and needs RBAC users,
 * while Gatehouse's standalone mode expects one ordinary Redis. A primary and a replica in two AZs
 * with automatic failover keep sessions through an AZ's outage. TLS is required, data is encrypted
 * at rest, and clients must AUTH with a generated token that only ever appears in the template as a
 * dynamic reference. Only the Gatehouse tasks may connect (see `connections`).
 */
export class SessionCache extends Construct implements ec2.IConnectable {
  readonly connections: ec2.Connections;
  readonly securityGroup: ec2.SecurityGroup;
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  /** The AUTH token, generated. */
  readonly authToken: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: SessionCacheProps) {
    super(scope, id);
    const nodes = props.nodes ?? 2;
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Gatehouse session cache: Redis protocol from the Gatehouse tasks only',
      allowAllOutbound: false,
    });
    this.connections = new ec2.Connections({
      securityGroups: [this.securityGroup],
      defaultPort: ec2.Port.tcp(REDIS_PORT),
    });

    this.authToken = generatedSecret(this, 'AuthToken', 'Gatehouse: session cache AUTH token');

    const subnets = new elasticache.CfnSubnetGroup(this, 'Subnets', {
      description: 'Gatehouse session cache: private subnets',
      subnetIds: props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS }).subnetIds,
    });

    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupDescription: 'Gatehouse sessions',
      engine: props.engine ?? 'valkey',
      engineVersion: props.engineVersion ?? '8.0',
      cacheNodeType: props.nodeType ?? 'cache.t4g.micro',
      numCacheClusters: nodes,
      multiAzEnabled: nodes > 1,
      automaticFailoverEnabled: nodes > 1,
      port: REDIS_PORT,
      cacheSubnetGroupName: subnets.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      atRestEncryptionEnabled: true,
      authToken: dynamicReference(this.authToken),
      autoMinorVersionUpgrade: true,
    });
  }

  /** Primary endpoint host name: writes go here, and it follows a failover. */
  get host(): string {
    return this.replicationGroup.attrPrimaryEndPointAddress;
  }

  get port(): string {
    return this.replicationGroup.attrPrimaryEndPointPort;
  }
}
