/**
 * Builds the ready app's stack as `cdk synth` would (same cdk.json feature flags, same context
 * parsing), with test settings and a registry image so nothing is built or hashed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { buildApp } from '../../src/app.js';

const cdkJson = JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as {
  context: Record<string, unknown>;
};

/** Context as a user would pass it on the command line: every value a string. */
export const TEST_CONTEXT: Record<string, string> = {
  domainName: 'app.test.example',
  certificateArn: 'arn:aws:acm:us-east-1:111111111111:certificate/11111111-1111-1111-1111-111111111111',
  originCertificateArn: 'arn:aws:acm:eu-west-1:111111111111:certificate/22222222-2222-2222-2222-222222222222',
  oidcIssuer: 'https://login.test.example',
  oidcClientId: 'spa-bff',
  routes: JSON.stringify([
    { path: '/orders', upstream: 'http://orders.internal:8080/v1/orders' },
    { path: '/catalog', upstream: 'http://catalog.internal:8080', token: 'client', scope: 'catalog:read' },
  ]),
};

export interface Synthesized {
  stack: Stack;
  template: Template;
  /** Resources of one type, by logical id. */
  resources(type: string): Record<string, { Properties: Record<string, unknown> }>;
  /** The logical id of the only resource of `type` whose logical id contains `hint`. */
  logicalId(type: string, hint: string): string;
}

/** `contextImage`: use the context's `image` setting instead of the test registry image. */
export function synthesize(context: Record<string, string> = {}, { contextImage = false } = {}): Synthesized {
  const app = new App({
    context: { ...cdkJson.context, ...TEST_CONTEXT, ...context },
    // cfn-lint's rules take seconds per synth; synth-cli.test.ts runs them, as `cdk synth` does.
    builtinCloudFormationValidation: false,
  });
  const stack = buildApp(
    app,
    contextImage ? undefined : ecs.ContainerImage.fromRegistry('public.ecr.aws/test/gatehouse:1.0.0'),
  );
  const template = Template.fromStack(stack);
  const resources = (type: string) =>
    template.findResources(type) as Record<string, { Properties: Record<string, unknown> }>;
  const logicalId = (type: string, hint: string) => {
    const ids = Object.keys(resources(type)).filter((id) => id.includes(hint));
    if (ids.length !== 1) throw new Error(`expected one ${type} named like ${hint}, found ${ids.join(', ') || 'none'}`);
    return ids[0]!;
  };
  return { stack, template, resources, logicalId };
}

/** `{ Ref }` / `{ Fn::GetAtt }` pointing at a resource, as the template writes references. */
export const ref = (logicalId: string) => ({ Ref: logicalId });
export const groupId = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'GroupId'] });

/** The `{{resolve:secretsmanager:<secret>:SecretString:::}}` dynamic reference CDK renders. */
export const dynamicReference = (secretLogicalId: string) => ({
  'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secretLogicalId }, ':SecretString:::}}']],
});

/** The GenerateSecretString of a secret made by generatedSecret(): 64 letters and digits, generated at deploy time. */
export const GENERATED_SECRET_STRING = {
  ExcludePunctuation: true,
  IncludeSpace: false,
  PasswordLength: 64,
  RequireEachIncludedType: true,
};

/** The PublicAccessBlockConfiguration of a bucket with all public access blocked. */
export const BLOCK_ALL_PUBLIC_ACCESS = {
  BlockPublicAcls: true,
  BlockPublicPolicy: true,
  IgnorePublicAcls: true,
  RestrictPublicBuckets: true,
};

/** Every ingress rule of a security group: those inside it and those CDK writes as separate resources. */
export function ingressOf(synth: Synthesized, securityGroupId: string): Record<string, unknown>[] {
  const inline = (synth.resources('AWS::EC2::SecurityGroup')[securityGroupId]?.Properties.SecurityGroupIngress ??
    []) as Record<string, unknown>[];
  const separate = Object.values(synth.resources('AWS::EC2::SecurityGroupIngress'))
    .map((r) => r.Properties)
    .filter((p) => JSON.stringify(p.GroupId) === JSON.stringify(groupId(securityGroupId)))
    .map(({ GroupId: _, ...rule }) => rule);
  return [...inline, ...separate];
}

/** The serverless variant, as `cdk synth -c variant=serverless` builds it (bundling Gatehouse with esbuild). */
export function synthesizeServerless(context: Record<string, string> = {}): Synthesized {
  return synthesize({ variant: 'serverless', ...context });
}

/** The one Gatehouse function of a serverless stack, with its logical id. */
export function gatehouseFunction(synth: Synthesized): { id: string; props: LambdaFunction } {
  const id = synth.logicalId('AWS::Lambda::Function', 'GatehouseFunction');
  return { id, props: synth.resources('AWS::Lambda::Function')[id]!.Properties as unknown as LambdaFunction };
}

export interface LambdaFunction {
  Runtime: string;
  Architectures: string[];
  Handler: string;
  MemorySize: number;
  Timeout: number;
  ReservedConcurrentExecutions?: number;
  VpcConfig?: unknown;
  Role: unknown;
  Layers: unknown[];
  LoggingConfig: { LogGroup: unknown };
  Code: { S3Key: string };
  Environment: { Variables: Record<string, unknown> };
}

/** Where synth staged a function's bundle: the cloud assembly's asset.<hash> folder. */
export function assetDirectory(synth: Synthesized, fn: LambdaFunction): string {
  const outdir = (synth.stack.node.root as App).outdir;
  return join(outdir, `asset.${fn.Code.S3Key.replace(/\.zip$/, '')}`);
}
