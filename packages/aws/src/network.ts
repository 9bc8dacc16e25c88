import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';

/** Options of the VPC created when none is given. */
export interface GatehouseNetworkProps {
  /**
   * NAT gateways, one per AZ by default so one AZ's outage does not cut every task off from the
   * identity provider and the image registry. 1 saves about $32 a month per gateway dropped.
   * @default 2
   */
  readonly natGateways?: number;
  /**
   * The two (or more) AZs to use. Needed only when the stack has an account and region, so CDK does
   * not look them up in the account. @default the first two of the region
   */
  readonly availabilityZones?: string[];
}

/**
 * A VPC of two AZs: public subnets for the load balancer and the NAT gateways, private subnets
 * (with egress through NAT) for the Gatehouse tasks and the session cache. Nothing in the private
 * subnets has a public address; Gatehouse still reaches the identity provider on the internet.
 */
export class GatehouseNetwork extends Construct {
  readonly vpc: ec2.Vpc;

  constructor(scope: Construct, id: string, props: GatehouseNetworkProps = {}) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr('10.0.0.0/16'),
      ...(props.availabilityZones ? { availabilityZones: props.availabilityZones } : { maxAzs: 2 }),
      natGateways: props.natGateways ?? 2,
      // The default security group would otherwise allow all traffic between its members.
      restrictDefaultSecurityGroup: true,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 },
        // Room for many tasks: each Fargate task takes one address.
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 },
      ],
    });
  }
}
