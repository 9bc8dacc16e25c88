/**
 * The CloudFront distribution as both variants' templates write it: AWS's managed policy ids, the
 * shapes of its behaviours and origins, and helpers to find them.
 */
import type { Synthesized } from './synth.js';

// AWS's managed policy ids, written out rather than read from CDK, so a change there shows here.
export const CACHING_OPTIMIZED = '658327ea-f89d-4fab-a63d-7e88639e58f6';
export const CACHING_DISABLED = '4135ea2d-6df8-44a3-9df3-4b5a84be39ad';
// Every viewer header but Host, all cookies and query strings, and CloudFront's viewer-location
// headers, CloudFront-Viewer-Address among them: the only managed or custom policy that can forward
// all of that without Host, which a function URL must receive as its own name.
export const ALL_VIEWER_EXCEPT_HOST_HEADER = 'b689b0a8-53d0-40ab-baf2-68738e2966ac';

export interface Behaviour {
  PathPattern?: string;
  TargetOriginId: string;
  ViewerProtocolPolicy: string;
  AllowedMethods: string[];
  CachePolicyId: string;
  OriginRequestPolicyId?: string;
  ResponseHeadersPolicyId?: unknown;
  FunctionAssociations?: { EventType: string; FunctionARN: unknown }[];
  Compress: boolean;
}

export interface Origin {
  Id: string;
  DomainName: unknown;
  OriginAccessControlId?: { 'Fn::GetAtt': [string, string] };
  CustomOriginConfig?: Record<string, unknown>;
  OriginCustomHeaders?: { HeaderName: string; HeaderValue: unknown }[];
}

export interface DistributionConfig {
  Aliases: string[];
  DefaultCacheBehavior: Behaviour;
  CacheBehaviors: Behaviour[];
  Origins: Origin[];
  CustomErrorResponses?: unknown;
  ViewerCertificate: Record<string, unknown>;
  DefaultRootObject: string;
}

/** The stack's one distribution: its logical id and its DistributionConfig. */
export function distributionOf(synth: Synthesized): { id: string; config: DistributionConfig } {
  const id = synth.logicalId('AWS::CloudFront::Distribution', 'Distribution');
  const config = synth.resources('AWS::CloudFront::Distribution')[id]!.Properties
    .DistributionConfig as DistributionConfig;
  return { id, config };
}

/** The origin a behaviour sends its requests to. */
export function originOf(config: DistributionConfig, behaviour: Behaviour): Origin {
  const origin = config.Origins.find((o) => o.Id === behaviour.TargetOriginId);
  if (!origin) throw new Error(`no origin ${behaviour.TargetOriginId}`);
  return origin;
}

/** The OriginAccessControlConfig of the origin access control an origin signs with. */
export function originAccessControlOf(synth: Synthesized, origin: Origin): Record<string, unknown> {
  if (!origin.OriginAccessControlId) throw new Error(`origin ${origin.Id} has no origin access control`);
  const [id] = origin.OriginAccessControlId['Fn::GetAtt'];
  return synth.resources('AWS::CloudFront::OriginAccessControl')[id]!.Properties.OriginAccessControlConfig as Record<
    string,
    unknown
  >;
}

/** The distribution's ARN as the template writes it, e.g. in an `AWS:SourceArn` condition. */
export const distributionArn = (distributionId: string) => ({
  'Fn::Join': [
    '',
    [
      'arn:',
      { Ref: 'AWS::Partition' },
      ':cloudfront::',
      { Ref: 'AWS::AccountId' },
      ':distribution/',
      { Ref: distributionId },
    ],
  ],
});
