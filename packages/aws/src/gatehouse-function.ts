import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** The function's entry: `export const handler = createStreamingHandler()` from gatehouse/lambda. */
export const GATEHOUSE_LAMBDA_ENTRY = fileURLToPath(new URL('../functions/gatehouse-lambda.mjs', import.meta.url));

/**
 * Lambda refuses a function whose environment variables pass 4 KB together; this leaves room for
 * the others (the secret's ARN, the extension's settings).
 */
const CONFIG_LIMIT_BYTES = 3 * 1024;

/** Size, limits and code of the Gatehouse function. */
export interface GatehouseFunctionOptions {
  /** Also the function URL's: the longest a request, a streamed answer included, can last. @default 30 seconds */
  readonly timeout?: Duration;
  /** More memory also means more CPU, and shorter cold starts. @default 1024 */
  readonly memorySize?: number;
  /** Caps the function's concurrent instances (and so what it can cost); none reserved by default. */
  readonly reservedConcurrentExecutions?: number;
  /** @default one month */
  readonly logRetention?: logs.RetentionDays;
  /**
   * A ready bundle for arm64 and Node.js 22 whose `index.handler` is `createStreamingHandler()`.
   * @default functions/gatehouse-lambda.mjs and `gatehouse` bundled at synth time by the local esbuild
   */
  readonly code?: lambda.Code;
}

export interface GatehouseFunctionProps extends GatehouseFunctionOptions {
  /** The whole configuration, as JSON (which Gatehouse reads like YAML): GATEHOUSE_CONFIG. */
  readonly configDocument: string;
  /** The JSON secret of names and values the configuration's `${NAME}`s take: GATEHOUSE_SECRETS_ID. */
  readonly secrets: secretsmanager.ISecret;
}

/**
 * Gatehouse as a Lambda function on arm64 and Node.js 22 behind a function URL that streams its
 * answers and takes only requests signed with IAM credentials (CloudFront's, through origin access
 * control: see api-origins.ts). At a cold start Gatehouse reads its secret once through the AWS
 * Parameters and Secrets Lambda Extension, so the bundle needs no AWS SDK.
 */
export class GatehouseFunction extends Construct {
  readonly function: lambda.Function;
  readonly functionUrl: lambda.FunctionUrl;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: GatehouseFunctionProps) {
    super(scope, id);
    const environment = {
      GATEHOUSE_CONFIG: props.configDocument,
      GATEHOUSE_SECRETS_ID: props.secrets.secretArn,
      NODE_ENV: 'production',
    };
    // Checked here: Lambda would refuse it only halfway through a deployment.
    if (Buffer.byteLength(props.configDocument) > CONFIG_LIMIT_BYTES) {
      throw new Error(
        `GATEHOUSE_CONFIG: ${Buffer.byteLength(props.configDocument)} bytes, over the ${CONFIG_LIMIT_BYTES} that fit in Lambda's environment: fewer routes or overrides`,
      );
    }
    this.logGroup = new logs.LogGroup(this, 'Logs', { retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH });
    const common: lambda.FunctionOptions = {
      description: 'Gatehouse: the BFF for the single-page app',
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 1024,
      timeout: props.timeout ?? Duration.seconds(30),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment,
      logGroup: this.logGroup,
      // Serves GATEHOUSE_SECRETS_ID on localhost:2773; the layer's ARN is the region's and
      // architecture's, looked up by CDK from its region table (a template mapping when the
      // stack's region is known only at deploy time).
      paramsAndSecrets: lambda.ParamsAndSecretsLayerVersion.fromVersion(lambda.ParamsAndSecretsVersions.V1_0_103),
    };
    this.function = props.code
      ? new lambda.Function(this, 'Function', {
          ...common,
          runtime: lambda.Runtime.NODEJS_22_X,
          code: props.code,
          handler: 'index.handler',
        })
      : new nodejs.NodejsFunction(this, 'Function', {
          ...common,
          runtime: lambda.Runtime.NODEJS_22_X,
          entry: GATEHOUSE_LAMBDA_ENTRY,
          depsLockFilePath: lockFileAbove(GATEHOUSE_LAMBDA_ENTRY),
          bundling: {
            format: nodejs.OutputFormat.ESM,
            target: 'node22',
            // Smaller code parses faster at every cold start.
            minify: true,
            sourceMap: false,
            // CommonJS dependencies (yaml, ioredis) require() Node's built-ins, and an ES module
            // has no `require` of its own.
            banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
          },
        });
    props.secrets.grantRead(this.function);

    this.functionUrl = this.function.addFunctionUrl({
      // Only signed requests run the function: CloudFront's, and IAM principals allowed to.
      authType: lambda.FunctionUrlAuthType.AWS_IAM,
      // Headers first, then the body as it comes: server-sent events flow, and answers may pass
      // the 6 MB a buffered function URL answer is limited to.
      invokeMode: lambda.InvokeMode.RESPONSE_STREAM,
    });
  }
}

/** The package manager's lock file in the entry's folder or above (NodejsFunction's project root). */
function lockFileAbove(file: string): string | undefined {
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    for (const name of ['package-lock.json', 'pnpm-lock.yaml', 'yarn.lock', 'bun.lock', 'bun.lockb']) {
      if (existsSync(join(dir, name))) return join(dir, name);
    }
    if (dirname(dir) === dir) return undefined;
  }
}
