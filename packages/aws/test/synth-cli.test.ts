/**
 * `cdk synth` as CI and users run it: the real CDK CLI on the ready app, with no context and no
 * network (telemetry and version checks off, no credentials, no instance metadata), building the
 * default image asset from the repository's Dockerfile. It must exit 0 and write the template.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { App, CloudFormationValidatePlugin } from 'aws-cdk-lib';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const cdk = join(dirname(createRequire(import.meta.url).resolve('aws-cdk/package.json')), 'bin', 'cdk');

/** The environment of a machine with no AWS setup at all; nothing may reach AWS. */
function offlineEnv(): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(AWS_|CDK_)/.test(name)));
  return {
    ...env,
    CDK_DISABLE_VERSION_CHECK: '1',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent/aws-config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/aws-credentials',
  };
}

interface Template {
  Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
  Outputs: Record<string, unknown>;
}

/** `cdk synth` from packages/aws into `outdir`; rejects on a non-zero exit or the timeout. */
function synth(outdir: string, args: string[] = []): Promise<{ stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, [cdk, 'synth', '--no-notices', '--quiet', '--output', outdir, ...args], {
    cwd: packageDir,
    env: offlineEnv(),
    timeout: 180_000,
    maxBuffer: 16 * 1024 * 1024,
  });
}

describe('cdk synth (the CLI, offline)', () => {
  let outdir: string;
  let result: { stdout: string; stderr: string };
  before(async () => {
    outdir = mkdtempSync(join(tmpdir(), 'gatehouse-cdk-'));
    result = await synth(outdir);
  });
  after(() => rmSync(outdir, { recursive: true, force: true }));

  it('exits 0 and writes the stack template', () => {
    // execFile rejects on a non-zero exit or the timeout, failing `before`.
    const template = JSON.parse(readFileSync(join(outdir, 'Gatehouse.template.json'), 'utf8')) as Template;
    const types = new Set(Object.values(template.Resources).map((r) => r.Type));
    for (const type of [
      'AWS::CloudFront::Distribution',
      'AWS::S3::Bucket',
      'AWS::ElasticLoadBalancingV2::LoadBalancer',
      'AWS::ECS::Service',
      'AWS::ElastiCache::ReplicationGroup',
    ]) {
      assert.ok(types.has(type), type);
    }
    assert.deepEqual(Object.keys(template.Outputs).sort(), [
      'BucketName',
      'DistributionDomainName',
      'DistributionId',
      'InternalApiSecurityGroupId',
      'LoadBalancerDnsName',
      'LogGroupName',
      'OriginVerifySecretA',
      'OriginVerifySecretB',
    ]);
  });

  it('passes CDK’s CloudFormation validation (cfn-lint rules) without a single finding', () => {
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; conclusion: string; violations: unknown[] }[];
    };
    const cfn = report.pluginReports.find((p) => p.pluginName === 'CloudFormation Validate');
    assert.equal(cfn?.conclusion, 'success');
    assert.deepEqual(cfn?.violations, []);
  });

  it('prints no template with --quiet, and warns about the placeholders', () => {
    assert.doesNotMatch(result.stdout, /Resources:/);
    assert.match(
      `${result.stdout}${result.stderr}`,
      /placeholder context \(domainName, certificateArn, oidcIssuer, oidcClientId\)/,
    );
  });

  it('stages the image built from the repository Dockerfile, without node_modules or dist', () => {
    const assets = JSON.parse(readFileSync(join(outdir, 'Gatehouse.assets.json'), 'utf8')) as {
      dockerImages: Record<string, { source: { directory: string; dockerFile: string; platform?: string } }>;
    };
    const images = Object.values(assets.dockerImages);
    assert.equal(images.length, 1);
    const { source } = images[0]!;
    assert.equal(source.dockerFile, 'Dockerfile');
    assert.equal(source.platform, 'linux/amd64');
    const context = join(outdir, source.directory);
    assert.ok(existsSync(join(context, 'Dockerfile')));
    assert.ok(existsSync(join(context, 'packages', 'gatehouse', 'package.json')));
    assert.ok(!existsSync(join(context, 'node_modules')), '.dockerignore is honoured');
    assert.ok(!existsSync(join(context, 'packages', 'aws', 'dist')), 'nor build or synth output');
  });
});

describe('cdk synth -c variant=serverless (the CLI, offline)', () => {
  let outdir: string;
  let template: Template;
  before(async () => {
    outdir = mkdtempSync(join(tmpdir(), 'gatehouse-cdk-'));
    await synth(outdir, ['-c', 'variant=serverless']);
    template = JSON.parse(readFileSync(join(outdir, 'Gatehouse.template.json'), 'utf8')) as Template;
  });
  after(() => rmSync(outdir, { recursive: true, force: true }));

  it('exits 0 and writes the Lambda stack, with nothing of the container one', () => {
    const types = new Set(Object.values(template.Resources).map((r) => r.Type));
    for (const type of [
      'AWS::CloudFront::Distribution',
      'AWS::S3::Bucket',
      'AWS::Lambda::Function',
      'AWS::Lambda::Url',
    ]) {
      assert.ok(types.has(type), type);
    }
    for (const type of ['AWS::ECS::Service', 'AWS::ElasticLoadBalancingV2::LoadBalancer', 'AWS::EC2::VPC']) {
      assert.ok(!types.has(type), type);
    }
  });

  it('passes CDK’s CloudFormation validation (cfn-lint rules) without a single finding', () => {
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
      pluginReports: { pluginName: string; conclusion: string; violations: unknown[] }[];
    };
    // The CLI's report leaves a plugin out when it found nothing: run the same plugin to see it.
    const cfn = report.pluginReports.filter((p) => p.pluginName === 'CloudFormation Validate');
    assert.ok(cfn.every((p) => p.conclusion === 'success' && p.violations.length === 0));
    const templatePath = join(outdir, 'Gatehouse.template.json');
    const direct = new CloudFormationValidatePlugin().validate({
      templatePaths: [templatePath],
      stackTemplates: [{ stackConstructPath: 'Gatehouse', templatePath, accountId: undefined, region: undefined }],
      appConstruct: new App(),
    });
    assert.deepEqual(direct, { success: true, violations: [] });
  });

  it('bundles Gatehouse into the function’s asset with the local esbuild: no Docker image to build', () => {
    const assets = JSON.parse(readFileSync(join(outdir, 'Gatehouse.assets.json'), 'utf8')) as {
      files: Record<string, { source: { path: string; packaging?: string } }>;
      dockerImages: Record<string, unknown>;
    };
    assert.deepEqual(assets.dockerImages, {});
    const bundles = Object.values(assets.files).filter((f) => f.source.packaging === 'zip');
    assert.equal(bundles.length, 1);
    assert.ok(existsSync(join(outdir, bundles[0]!.source.path, 'index.mjs')));
  });
});
