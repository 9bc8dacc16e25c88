import { Annotations, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';
import { containerImageFromUri } from './container-image.js';
import { hostedZoneFromSettings } from './dns.js';
import { GatehouseSpaHosting } from './gatehouse-spa-hosting.js';
import { oidcClientSecretFromSettings } from './secrets.js';
import type { AppSettings } from './settings.js';

/** A warning at synth, naming the context keys a deployment still needs. */
export function warnOfPlaceholders(stack: Stack, settings: AppSettings): void {
  if (settings.placeholders.length === 0) return;
  Annotations.of(stack).addWarningV2(
    '@gatehouse/aws:placeholder',
    `placeholder context (${settings.placeholders.join(', ')}): fine for synth; pass -c <key>=... to deploy (docs/deploy-aws.md)`,
  );
}

export interface GatehouseStackProps extends StackProps {
  readonly settings: AppSettings;
  /** Overrides settings.image; tests pass a registry image so nothing is built or hashed. */
  readonly image?: ecs.ContainerImage;
}

/**
 * The ready app's stack: GatehouseSpaHosting from context settings, an example internal API
 * security group that only Gatehouse can reach, and the outputs a deployment needs next.
 */
export class GatehouseStack extends Stack {
  readonly hosting: GatehouseSpaHosting;
  readonly internalApiSecurityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: GatehouseStackProps) {
    super(scope, id, props);
    const { settings } = props;
    warnOfPlaceholders(this, settings);

    this.hosting = new GatehouseSpaHosting(this, 'Hosting', {
      domainName: settings.domainName,
      cloudFrontCertificateArn: settings.certificateArn,
      originDomainName: settings.originDomainName,
      loadBalancerCertificateArn: settings.originCertificateArn,
      oidc: {
        issuer: settings.oidcIssuer,
        clientId: settings.oidcClientId,
        scopes: settings.oidcScopes,
        clientSecret: oidcClientSecretFromSettings(this, settings),
      },
      routes: settings.routes,
      network: { natGateways: settings.natGateways, availabilityZones: settings.availabilityZones },
      hostedZone: hostedZoneFromSettings(this, settings),
      cloudFrontPrefixListId: settings.cloudFrontPrefixListId,
      trustedProxies: settings.trustedProxies,
      originVerify: { active: settings.originVerifyActive, acceptBoth: settings.originVerifyAcceptBoth },
      service: {
        image: props.image ?? (settings.image ? containerImageFromUri(this, settings.image) : undefined),
        cpuArchitecture: settings.cpuArchitecture === 'arm64' ? ecs.CpuArchitecture.ARM64 : ecs.CpuArchitecture.X86_64,
      },
    });

    // An internal API (the routes' upstreams) attaches this group: no public ingress at all, and
    // from inside the VPC only Gatehouse's tasks on the API's port.
    this.internalApiSecurityGroup = new ec2.SecurityGroup(this, 'InternalApiSecurityGroup', {
      vpc: this.hosting.vpc,
      description: 'Internal API: reachable from the Gatehouse tasks only',
      allowAllOutbound: true,
    });
    this.hosting.allowAccessTo(this.internalApiSecurityGroup, settings.internalApiPort);

    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('DistributionDomainName', this.hosting.distribution.distributionDomainName, 'Point the site name here');
    output('DistributionId', this.hosting.distribution.distributionId, 'For cache invalidations');
    output('BucketName', this.hosting.bucket.bucketName, 'Upload the SPA build here');
    output(
      'LoadBalancerDnsName',
      this.hosting.loadBalancer.loadBalancer.loadBalancerDnsName,
      `Point ${settings.originDomainName} here`,
    );
    output('InternalApiSecurityGroupId', this.internalApiSecurityGroup.securityGroupId, 'Attach to internal APIs');
    for (const [slot, secret] of Object.entries(this.hosting.originVerify.secrets)) {
      output(`OriginVerifySecret${slot.toUpperCase()}`, secret.secretArn, `Origin-verify secret ${slot} (rotation)`);
    }
    output('LogGroupName', this.hosting.service.logGroup.logGroupName, "Gatehouse's logs");
  }
}
