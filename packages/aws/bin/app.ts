/**
 * The ready app: `npm run synth -w packages/aws`, or from packages/aws
 * `npx cdk deploy -c domainName=app.example.com -c certificateArn=... -c oidcIssuer=...`, with
 * `-c variant=serverless` for Gatehouse on Lambda instead of Fargate.
 * Every setting comes from CDK context (src/settings.ts, docs/deploy-aws.md); with none, placeholders
 * let `cdk synth` run offline. Nothing is looked up in an AWS account at synth time.
 */
import { App } from 'aws-cdk-lib';
import { buildApp } from '../src/app.js';

buildApp(new App());
