import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Options of the SPA build's bucket. */
export interface StaticSiteBucketProps {
  /**
   * What happens to the bucket when it leaves the stack. RETAIN keeps the site's files (empty and
   * delete the bucket by hand); DESTROY only works on an empty bucket.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The private bucket holding the SPA build. Nobody reads it directly: no public access, no website
 * endpoint, TLS only; CloudFront reads it through Origin Access Control, with a bucket policy
 * statement (added by the distribution) limited to that one distribution.
 */
export class StaticSiteBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: StaticSiteBucketProps = {}) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      // SSE-S3, not KMS: OAC reads it with no key policy to manage.
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      // Overwritten files keep their previous version, so a bad upload can be rolled back.
      versioned: true,
      lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(30) }],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }
}
