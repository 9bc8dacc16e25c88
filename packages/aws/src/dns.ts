import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as route53 from 'aws-cdk-lib/aws-route53';
import * as targets from 'aws-cdk-lib/aws-route53-targets';
import { Construct } from 'constructs';
import type { AppSettings } from './settings.js';

export interface GatehouseDnsProps {
  readonly zone: route53.IHostedZone;
  readonly domainName: string;
  readonly distribution: cloudfront.IDistribution;
  /** The load balancer's name (container variant); with `loadBalancer`, gets an alias record too. */
  readonly originDomainName?: string;
  readonly loadBalancer?: elbv2.IApplicationLoadBalancer;
}

/**
 * Alias records in a hosted zone the caller already has (given by id and name: no lookup): the
 * site's name to CloudFront, and, in the container variant, the origin's name to the load
 * balancer, so CloudFront can reach it by the name its certificate covers. A function URL has its
 * own name and needs no record.
 */
export class GatehouseDns extends Construct {
  constructor(scope: Construct, id: string, props: GatehouseDnsProps) {
    super(scope, id);
    const site = route53.RecordTarget.fromAlias(new targets.CloudFrontTarget(props.distribution));
    new route53.ARecord(this, 'Site', { zone: props.zone, recordName: props.domainName, target: site });
    new route53.AaaaRecord(this, 'SiteIpv6', { zone: props.zone, recordName: props.domainName, target: site });
    if (props.originDomainName && props.loadBalancer) {
      new route53.ARecord(this, 'Origin', {
        zone: props.zone,
        recordName: props.originDomainName,
        target: route53.RecordTarget.fromAlias(new targets.LoadBalancerTarget(props.loadBalancer)),
      });
    }
  }
}

/**
 * The hosted zone the settings name by id and name (fromHostedZoneAttributes: no lookup at synth
 * time), made in `scope` as Zone; none unless both are set.
 */
export function hostedZoneFromSettings(
  scope: Construct,
  settings: Pick<AppSettings, 'hostedZoneId' | 'hostedZoneName'>,
): route53.IHostedZone | undefined {
  if (!settings.hostedZoneId || !settings.hostedZoneName) return undefined;
  return route53.HostedZone.fromHostedZoneAttributes(scope, 'Zone', {
    hostedZoneId: settings.hostedZoneId,
    zoneName: settings.hostedZoneName,
  });
}
