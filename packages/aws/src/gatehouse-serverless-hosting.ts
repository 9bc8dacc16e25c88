import type * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { functionUrlOrigin } from './api-origins.js';
import { SECRET_ENV, type OidcSettings } from './config-document.js';
import { GatehouseFunction, type GatehouseFunctionOptions } from './gatehouse-function.js';
import { gatehouseLambdaConfig } from './lambda-config.js';
import { generatedSecret, secretBundle } from './secrets.js';
import { serverlessTimeouts } from './serverless-timeouts.js';
import { spaSite, type SpaSiteProps } from './spa-site.js';

export interface GatehouseServerlessHostingProps extends SpaSiteProps {
  /**
   * The OIDC client. Its secret in Secrets Manager (a plain string, or `clientSecretField` of a JSON
   * one) is copied into the function's secret at deploy time; not needed with `secrets`.
   */
  readonly oidc: OidcSettings & {
    readonly clientSecret?: secretsmanager.ISecret;
    readonly clientSecretField?: string;
  };
  /**
   * The function's secret, made and kept by you: a JSON object with OIDC_CLIENT_SECRET and
   * SESSION_SECRET (32 characters or more), plus any other `${NAME}` your `gatehouseConfig` uses.
   * @default one made here from `oidc.clientSecret` and a generated session secret
   */
  readonly secrets?: secretsmanager.ISecret;
  readonly function?: GatehouseFunctionOptions;
}

/**
 * A single-page app and Gatehouse on one domain with nothing to run between requests: CloudFront
 * serves the build from a private S3 bucket and sends `api/*` to Gatehouse as a Lambda function,
 * through its function URL and origin access control. Sessions are sealed into the browser's
 * cookies, so there is no VPC, no NAT and no cache to pay for.
 */
export class GatehouseServerlessHosting extends Construct {
  readonly bucket: s3.Bucket;
  readonly distribution: cloudfront.Distribution;
  readonly gatehouse: GatehouseFunction;
  /** What GATEHOUSE_SECRETS_ID names: the values of the configuration's `${NAME}`s. */
  readonly secrets: secretsmanager.ISecret;
  /** The generated session secret copied into `secrets` (none when `secrets` was given). */
  readonly sessionSecret?: secretsmanager.Secret;
  /** The Gatehouse configuration the function runs with (GATEHOUSE_CONFIG). */
  readonly configDocument: string;

  constructor(scope: Construct, id: string, props: GatehouseServerlessHostingProps) {
    super(scope, id);
    const timeouts = serverlessTimeouts(props.function?.timeout);
    this.configDocument = JSON.stringify(
      gatehouseLambdaConfig({
        domainName: props.domainName,
        oidc: props.oidc,
        routes: props.routes ?? [],
        upstreamTimeoutSeconds: timeouts.upstream.toSeconds(),
        overrides: props.gatehouseConfig,
      }),
    );

    if (props.secrets) {
      this.secrets = props.secrets;
    } else {
      const { clientSecret, clientSecretField } = props.oidc;
      if (!clientSecret) throw new Error('oidc.clientSecret: required unless `secrets` is given');
      this.sessionSecret = generatedSecret(this, 'SessionSecret', 'Gatehouse: session.secrets (encrypts sessions)');
      this.secrets = secretBundle(this, 'Secrets', "Gatehouse on Lambda: the values of its configuration's ${NAME}s", {
        [SECRET_ENV.oidcClientSecret]: clientSecretField
          ? clientSecret.secretValueFromJson(clientSecretField)
          : clientSecret.secretValue,
        [SECRET_ENV.sessionSecret]: this.sessionSecret.secretValue,
      });
    }

    this.gatehouse = new GatehouseFunction(this, 'Gatehouse', {
      ...props.function,
      timeout: timeouts.function,
      configDocument: this.configDocument,
      secrets: this.secrets,
    });

    ({ bucket: this.bucket, distribution: this.distribution } = spaSite(
      this,
      props,
      functionUrlOrigin(this.gatehouse.functionUrl, timeouts.cloudFront),
    ));
  }
}
