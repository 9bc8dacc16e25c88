/**
 * The serverless variant's options: the function's timeout and what follows from it (CloudFront's
 * response timeout, Gatehouse's upstream timeout), memory and reserved concurrency, a secret of
 * your own, a hosted zone, a known region, a ready bundle; what it refuses at synth time; and the
 * container variant, still the default and unchanged by the serverless one.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { GatehouseServerlessHosting } from '../src/gatehouse-serverless-hosting.js';
import { serverlessTimeouts } from '../src/serverless-timeouts.js';
import { distributionOf, originOf } from './support/cloudfront.js';
import { gatehouseFunction, synthesize, synthesizeServerless, type Synthesized } from './support/synth.js';

const OWN_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:shop/gatehouse-AbCdEf';

const routeTimeouts = (synth: Synthesized) =>
  (
    JSON.parse(gatehouseFunction(synth).props.Environment.Variables.GATEHOUSE_CONFIG as string) as {
      routes: { timeout: string }[];
    }
  ).routes.map((r) => r.timeout);

const apiReadTimeout = (synth: Synthesized) => {
  const { config } = distributionOf(synth);
  return originOf(config, config.CacheBehaviors[0]!).CustomOriginConfig?.OriginReadTimeout;
};

describe('serverless timeouts', () => {
  it('keep Gatehouse’s upstream timeout 5 s under the first limit a request meets', () => {
    const seconds = (t: ReturnType<typeof serverlessTimeouts>) => [
      t.function.toSeconds(),
      t.cloudFront.toSeconds(),
      t.upstream.toSeconds(),
    ];
    assert.deepEqual(seconds(serverlessTimeouts()), [30, 30, 25]);
    assert.deepEqual(seconds(serverlessTimeouts(Duration.seconds(10))), [10, 10, 5]);
    // A function may stream for 15 minutes; CloudFront's 60 s is a limit on silence.
    assert.deepEqual(seconds(serverlessTimeouts(Duration.minutes(15))), [900, 60, 55]);
  });

  it('refuse a function timeout Lambda or a sign-in cannot work with', () => {
    for (const timeout of [Duration.seconds(9), Duration.seconds(901), Duration.millis(30_500)]) {
      assert.throws(() => serverlessTimeouts(timeout), /function timeout: expected whole seconds from 10 to 900/);
    }
  });
});

describe('serverless variant options', () => {
  let synth: Synthesized;
  before(() => {
    synth = synthesizeServerless({
      lambdaTimeoutSeconds: '120',
      lambdaMemoryMiB: '2048',
      lambdaReservedConcurrency: '50',
      gatehouseSecretsArn: OWN_SECRET_ARN,
      hostedZoneId: 'Z0123456789ABCDEFGHIJ',
      hostedZoneName: 'test.example',
      account: '111111111111',
      region: 'eu-west-1',
    });
  });

  it('sizes the function from context: timeout, memory, reserved concurrency', () => {
    const { props: fn } = gatehouseFunction(synth);
    assert.equal(fn.Timeout, 120);
    assert.equal(fn.MemorySize, 2048);
    assert.equal(fn.ReservedConcurrentExecutions, 50);
  });

  it('waits at most CloudFront’s 60 s for silence, and lets Gatehouse answer 504 before that', () => {
    assert.equal(apiReadTimeout(synth), 60);
    assert.deepEqual(routeTimeouts(synth), ['55s', '55s']);
  });

  it('uses your own secret when given: nothing generated or copied, and only that one readable', () => {
    synth.template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const { props: fn } = gatehouseFunction(synth);
    assert.equal(fn.Environment.Variables.GATEHOUSE_SECRETS_ID, OWN_SECRET_ARN);
    const reads = Object.values(synth.resources('AWS::IAM::Policy')).flatMap((p) =>
      (p.Properties.PolicyDocument as { Statement: { Action: string[]; Resource: unknown }[] }).Statement.filter((s) =>
        s.Action.includes('secretsmanager:GetSecretValue'),
      ),
    );
    assert.deepEqual(
      reads.map((s) => s.Resource),
      [OWN_SECRET_ARN],
    );
  });

  it('takes the extension layer’s ARN for the known region, and looks nothing up', () => {
    const { props: fn } = gatehouseFunction(synth);
    assert.equal(fn.Layers.length, 1);
    assert.match(
      fn.Layers[0] as string,
      /^arn:aws:lambda:eu-west-1:\d{12}:layer:AWS-Parameters-and-Secrets-Lambda-Extension-Arm64:\d+$/,
    );
    const assembly = (synth.stack.node.root as App).synth();
    assert.equal(assembly.manifest.missing, undefined, 'cdk synth would have to call AWS');
  });

  it('points the site name (A and AAAA) at CloudFront, and needs no origin record', () => {
    const records = Object.values(synth.resources('AWS::Route53::RecordSet')).map((r) => r.Properties);
    assert.deepEqual(records.map((r) => [r.Name, r.Type]).sort(), [
      ['app.test.example.', 'A'],
      ['app.test.example.', 'AAAA'],
    ]);
  });
});

describe('serverless hosting construct', () => {
  // cfn-lint's rules take seconds per synth; synth-cli.test.ts runs them on the ready app.
  const bareApp = () => new App({ builtinCloudFormationValidation: false });
  const props = {
    domainName: 'app.example.com',
    cloudFrontCertificateArn: 'arn:aws:acm:us-east-1:111111111111:certificate/x',
  };
  const stackWith = (extra: Partial<ConstructorParameters<typeof GatehouseServerlessHosting>[2]>) => {
    const stack = new Stack(bareApp(), 'Test');
    const clientSecret = secretsmanager.Secret.fromSecretNameV2(stack, 'Client', 'idp/app');
    new GatehouseServerlessHosting(stack, 'Hosting', {
      ...props,
      oidc: { issuer: 'https://login.example.com', clientId: 'app', clientSecret },
      // A ready bundle: nothing to build, so these tests stay fast.
      function: { code: lambda.Code.fromInline('export const handler = () => {};') },
      ...extra,
    });
    return Template.fromStack(stack);
  };

  it('copies the client secret from a field of a JSON secret when told which', () => {
    const stack = new Stack(bareApp(), 'Test');
    const clientSecret = secretsmanager.Secret.fromSecretNameV2(stack, 'Client', 'idp/app');
    const hosting = new GatehouseServerlessHosting(stack, 'Hosting', {
      ...props,
      oidc: { issuer: 'https://login.example.com', clientId: 'app', clientSecret, clientSecretField: 'client_secret' },
      function: { code: lambda.Code.fromInline('export const handler = () => {};') },
    });
    const secretString = JSON.stringify(
      Template.fromStack(stack).toJSON().Resources[stack.getLogicalId(hosting.secrets.node.defaultChild as never)]
        .Properties.SecretString,
    );
    assert.match(secretString, /:secret:idp\/app:SecretString:client_secret::\}\}/);
  });

  it('runs a ready bundle as given, with the same settings as the built one', () => {
    const template = stackWith({});
    template.resourceCountIs('AWS::Lambda::Function', 1);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Code: { ZipFile: 'export const handler = () => {};' },
    });
    template.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'AWS_IAM', InvokeMode: 'RESPONSE_STREAM' });
  });

  it('merges configuration overrides into the generated document', () => {
    const template = stackWith({ gatehouseConfig: { log: { level: 'debug' }, session: { idleTimeout: '1h' } } });
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function'));
    const document = JSON.parse(fn!.Properties.Environment.Variables.GATEHOUSE_CONFIG);
    assert.deepEqual(document.log, { level: 'debug' });
    assert.deepEqual(document.session, { store: 'cookie', secrets: ['${SESSION_SECRET}'], idleTimeout: '1h' });
  });

  it('refuses at synth what would fail later: WebSocket routes, no client secret, a configuration too big', () => {
    assert.throws(
      () => stackWith({ routes: [{ path: '/live', upstream: 'https://live.example.com', websocket: true }] }),
      /routes \/live: WebSocket routes need the container variant/,
    );
    assert.throws(() => {
      const stack = new Stack(bareApp(), 'Test');
      new GatehouseServerlessHosting(stack, 'Hosting', {
        ...props,
        oidc: { issuer: 'https://login.example.com', clientId: 'app' },
      });
    }, /oidc.clientSecret: required unless `secrets` is given/);
    const routes = Array.from({ length: 60 }, (_, i) => ({
      path: `/api${i}`,
      upstream: `https://api${i}.example.com`,
    }));
    assert.throws(
      () => stackWith({ routes }),
      /GATEHOUSE_CONFIG: \d+ bytes, over the 3072 that fit in Lambda's environment/,
    );
  });
});

describe('container variant', () => {
  it('is still the default, and the same template as asking for it by name', () => {
    const byDefault = synthesize().template.toJSON();
    const byName = synthesize({ variant: 'container' }).template.toJSON();
    assert.deepEqual(byDefault, byName);
    const types = new Set(Object.values(byDefault.Resources as Record<string, { Type: string }>).map((r) => r.Type));
    assert.ok(types.has('AWS::ECS::Service'));
    assert.ok(!types.has('AWS::Lambda::Url'), 'nothing of the serverless variant');
    assert.match(byDefault.Description, /BFF on Fargate/);
  });
});
