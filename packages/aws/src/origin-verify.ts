import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { generatedSecret } from './secrets.js';

/** The header CloudFront adds to every request it sends to the load balancer. */
export const ORIGIN_VERIFY_HEADER = 'X-Origin-Verify';

/** One of the two origin-verify secrets. */
export type OriginVerifySlot = 'a' | 'b';

/**
 * Which origin-verify secret is in use. Two secrets exist so the value can change without a
 * moment where CloudFront sends one the load balancer or Gatehouse refuses (see docs/deploy-aws.md):
 * accept both, switch what CloudFront sends, then accept only that one.
 */
export interface OriginVerifyProps {
  /** The secret CloudFront sends. @default 'a' */
  readonly active?: OriginVerifySlot;
  /** Also accept the other one (load balancer rule and Gatehouse): only while rotating. @default false */
  readonly acceptBoth?: boolean;
}

/**
 * The shared secret proving a request came through CloudFront. Values only ever appear in the
 * template as CloudFormation dynamic references, resolved by CloudFormation at deploy time.
 */
export class OriginVerifySecrets extends Construct {
  readonly secrets: Readonly<Record<OriginVerifySlot, secretsmanager.Secret>>;
  /** The secret CloudFront sends. */
  readonly active: secretsmanager.Secret;
  /** The other secret, accepted alongside the active one only while rotating. */
  readonly standby?: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: OriginVerifyProps = {}) {
    super(scope, id);
    const generate = (slot: OriginVerifySlot) =>
      generatedSecret(
        this,
        `Secret${slot.toUpperCase()}`,
        `Gatehouse: CloudFront origin-verify header value (${slot})`,
      );
    this.secrets = { a: generate('a'), b: generate('b') };
    const active = props.active ?? 'a';
    this.active = this.secrets[active];
    if (props.acceptBoth) this.standby = this.secrets[active === 'a' ? 'b' : 'a'];
  }

  /** The secrets the load balancer and Gatehouse accept, the active one first. */
  get accepted(): secretsmanager.Secret[] {
    return this.standby ? [this.active, this.standby] : [this.active];
  }
}
