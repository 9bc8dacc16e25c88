import type { SecretValue } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { AppSettings } from './settings.js';

/**
 * A secret whose value Secrets Manager generates at deploy time, so it is never in the code, the
 * template or the CDK output. Letters and digits only: safe in an HTTP header, in YAML, in a Redis
 * AUTH token, and in a load balancer condition, where "*" and "?" would be wildcards.
 */
export function generatedSecret(scope: Construct, id: string, description: string): secretsmanager.Secret {
  return new secretsmanager.Secret(scope, id, {
    description,
    generateSecretString: {
      passwordLength: 64,
      excludePunctuation: true,
      includeSpace: false,
      requireEachIncludedType: true,
    },
  });
}

/** A `{{resolve:secretsmanager:...}}` reference to a secret's value, for CloudFormation to fill in. */
export function dynamicReference(secret: secretsmanager.ISecret): string {
  // unsafeUnwrap() only turns the SecretValue token into a string token; it still renders as a
  // dynamic reference in the template, never as the value.
  return secret.secretValue.unsafeUnwrap();
}

/**
 * One secret holding several values as a JSON object of names and values, each given as a
 * reference to another secret, so CloudFormation copies them in at deploy time and none is in the
 * template. For a reader that can fetch one secret only (Gatehouse on Lambda). CloudFormation
 * copies again only when the template changes, not when a source secret does (see the README).
 */
export function secretBundle(
  scope: Construct,
  id: string,
  description: string,
  values: Record<string, SecretValue>,
): secretsmanager.Secret {
  return new secretsmanager.Secret(scope, id, { description, secretObjectValue: values });
}

/**
 * The OIDC client's secret the settings name, created beforehand (docs/deploy-aws.md): by its full
 * ARN when given, else by name. Made in `scope` as OidcClientSecret; nothing is looked up at synth time.
 */
export function oidcClientSecretFromSettings(
  scope: Construct,
  settings: Pick<AppSettings, 'oidcClientSecretArn' | 'oidcClientSecretName'>,
): secretsmanager.ISecret {
  return settings.oidcClientSecretArn
    ? secretsmanager.Secret.fromSecretCompleteArn(scope, 'OidcClientSecret', settings.oidcClientSecretArn)
    : secretsmanager.Secret.fromSecretNameV2(scope, 'OidcClientSecret', settings.oidcClientSecretName);
}
