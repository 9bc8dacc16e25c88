import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { hostedZoneFromSettings } from './dns.js';
import { GatehouseServerlessHosting } from './gatehouse-serverless-hosting.js';
import { oidcClientSecretFromSettings } from './secrets.js';
import type { AppSettings } from './settings.js';
import { warnOfPlaceholders } from './stack.js';

export interface GatehouseServerlessStackProps extends StackProps {
  readonly settings: AppSettings;
}

/**
 * The ready app's stack with `-c variant=serverless`: GatehouseServerlessHosting from the same
 * context settings as the container variant, and the outputs a deployment needs next.
 */
export class GatehouseServerlessStack extends Stack {
  readonly hosting: GatehouseServerlessHosting;

  constructor(scope: Construct, id: string, props: GatehouseServerlessStackProps) {
    super(scope, id, props);
    const { settings } = props;
    warnOfPlaceholders(this, settings);

    this.hosting = new GatehouseServerlessHosting(this, 'Hosting', {
      domainName: settings.domainName,
      cloudFrontCertificateArn: settings.certificateArn,
      oidc: {
        issuer: settings.oidcIssuer,
        clientId: settings.oidcClientId,
        scopes: settings.oidcScopes,
        // Not needed with a secret of your own for the function.
        clientSecret: settings.gatehouseSecretsArn ? undefined : oidcClientSecretFromSettings(this, settings),
      },
      secrets: settings.gatehouseSecretsArn
        ? secretsmanager.Secret.fromSecretCompleteArn(this, 'GatehouseSecrets', settings.gatehouseSecretsArn)
        : undefined,
      routes: settings.routes,
      function: {
        timeout: Duration.seconds(settings.lambdaTimeoutSeconds),
        memorySize: settings.lambdaMemoryMiB,
        reservedConcurrentExecutions: settings.lambdaReservedConcurrency,
      },
      hostedZone: hostedZoneFromSettings(this, settings),
    });

    const output = (id: string, value: string, description: string) => new CfnOutput(this, id, { value, description });
    output('DistributionDomainName', this.hosting.distribution.distributionDomainName, 'Point the site name here');
    output('DistributionId', this.hosting.distribution.distributionId, 'For cache invalidations');
    output('BucketName', this.hosting.bucket.bucketName, 'Upload the SPA build here');
    output('FunctionName', this.hosting.gatehouse.function.functionName, 'Gatehouse');
    output('SecretsArn', this.hosting.secrets.secretArn, "Gatehouse's secret (GATEHOUSE_SECRETS_ID)");
    output('LogGroupName', this.hosting.gatehouse.logGroup.logGroupName, "Gatehouse's logs");
  }
}
