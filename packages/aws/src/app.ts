import type { App } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import { readSettings } from './settings.js';
import { GatehouseStack } from './stack.js';

/**
 * The ready app's one stack, configured from the app's CDK context (bin/app.ts; the tests call this
 * too, so they check what `cdk synth` builds). `image` overrides the context's.
 */
export function buildApp(app: App, image?: ecs.ContainerImage): GatehouseStack {
  const settings = readSettings(app.node);
  if (settings.account && settings.region && settings.availabilityZones) {
    // What `cdk synth` would otherwise ask the account for (and cache in cdk.context.json).
    const key = `availability-zones:account=${settings.account}:region=${settings.region}`;
    if (app.node.tryGetContext(key) === undefined) app.node.setContext(key, settings.availabilityZones);
  }
  return new GatehouseStack(app, settings.stackName, {
    settings,
    image,
    description: 'Gatehouse: SPA on CloudFront and S3, BFF on Fargate, sessions in ElastiCache',
    // Unset: environment-agnostic, deployed to the CLI's account and region.
    env: { account: settings.account, region: settings.region },
  });
}
