import type { App, Stack } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import { GatehouseServerlessStack } from './serverless-stack.js';
import { readSettings } from './settings.js';
import { GatehouseStack } from './stack.js';

/**
 * The ready app's one stack, configured from the app's CDK context (bin/app.ts; the tests call this
 * too, so they check what `cdk synth` builds): the container variant, or with `-c variant=serverless`
 * the Lambda one. `image` overrides the context's (container variant only).
 */
export function buildApp(app: App, image?: ecs.ContainerImage): Stack {
  const settings = readSettings(app.node);
  // Unset: environment-agnostic, deployed to the CLI's account and region.
  const env = { account: settings.account, region: settings.region };
  if (settings.variant === 'serverless') {
    return new GatehouseServerlessStack(app, settings.stackName, {
      settings,
      description:
        'Gatehouse: SPA on CloudFront and S3, BFF on Lambda behind a function URL, sessions in sealed cookies',
      env,
    });
  }
  if (settings.account && settings.region && settings.availabilityZones) {
    // What `cdk synth` would otherwise ask the account for (and cache in cdk.context.json).
    const key = `availability-zones:account=${settings.account}:region=${settings.region}`;
    if (app.node.tryGetContext(key) === undefined) app.node.setContext(key, settings.availabilityZones);
  }
  return new GatehouseStack(app, settings.stackName, {
    settings,
    image,
    description: 'Gatehouse: SPA on CloudFront and S3, BFF on Fargate, sessions in ElastiCache',
    env,
  });
}
