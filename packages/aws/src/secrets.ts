import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

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
