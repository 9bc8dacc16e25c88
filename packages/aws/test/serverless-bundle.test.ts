/**
 * The function code `cdk synth` stages for the serverless variant, run as Lambda would run it: the
 * ES module bundle imported from the assembly, with the environment from the template, its secret
 * served on the Parameters and Secrets extension's HTTP API by a stand-in, and function URL events
 * answered through the response-streaming API (`awslambda`, which only Lambda's runtime provides,
 * stubbed here). No network beyond localhost: the identity provider is never asked.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { assetDirectory, gatehouseFunction, synthesizeServerless } from './support/synth.js';

const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:gatehouse-AbCdEf';
const SESSION_TOKEN = 'session-token-of-the-execution-role';
const SECRET_VALUES = { OIDC_CLIENT_SECRET: 'c'.repeat(40), SESSION_SECRET: 's'.repeat(64) };

type Handler = (event: unknown, stream: NodeJS.WritableStream) => Promise<void>;
/** What the handler gives HttpResponseStream.from: the status and headers, sent before the body. */
interface Metadata {
  statusCode: number;
  headers: Record<string, string>;
}
interface Answer extends Metadata {
  body: string;
}

/** A function URL event (payload 2.0) as CloudFront, signing with OAC, makes it arrive. */
const event = (method: string, path: string) => ({
  version: '2.0',
  rawPath: path,
  rawQueryString: '',
  headers: { accept: 'application/json', 'cloudfront-viewer-address': '203.0.113.7:50123' },
  isBase64Encoded: false,
  requestContext: {
    domainName: 'abc123.lambda-url.eu-west-1.on.aws',
    http: { method, sourceIp: '130.176.0.1' },
    authorizer: { iam: { userArn: 'arn:aws:sts::111111111111:assumed-role/cloudfront' } },
  },
});

describe('the bundled function', () => {
  let bundle: string;
  let handler: Handler;
  let extension: Server;
  const asked: { url: string; token: string | undefined }[] = [];
  const sent: { metadata?: Metadata } = {};
  const saved = { ...process.env };

  before(async () => {
    const synth = synthesizeServerless();
    const { props: fn } = gatehouseFunction(synth);
    bundle = join(assetDirectory(synth, fn), 'index.mjs');

    extension = createServer((request, response) => {
      asked.push({ url: request.url!, token: request.headers['x-aws-parameters-secrets-token'] as string });
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ ARN: SECRET_ARN, SecretString: JSON.stringify(SECRET_VALUES) }));
    });
    await new Promise<void>((resolve) => extension.listen(0, '127.0.0.1', resolve));

    // The template's environment, with CloudFormation's and Lambda's values filled in.
    const variables = fn.Environment.Variables;
    Object.assign(process.env, {
      GATEHOUSE_CONFIG: variables.GATEHOUSE_CONFIG as string,
      NODE_ENV: variables.NODE_ENV as string,
      GATEHOUSE_SECRETS_ID: SECRET_ARN,
      PARAMETERS_SECRETS_EXTENSION_HTTP_PORT: String((extension.address() as AddressInfo).port),
      AWS_SESSION_TOKEN: SESSION_TOKEN,
    });
    (globalThis as { awslambda?: unknown }).awslambda = {
      streamifyResponse: (h: Handler) => h,
      HttpResponseStream: {
        from: (stream: NodeJS.WritableStream, metadata: Metadata) => {
          sent.metadata = metadata;
          return stream;
        },
      },
    };
    ({ handler } = (await import(pathToFileURL(bundle).href)) as { handler: Handler });
  });

  after(() => {
    extension.close();
    delete (globalThis as { awslambda?: unknown }).awslambda;
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  });

  const invoke = async (method: string, path: string): Promise<Answer> => {
    delete sent.metadata;
    const stream = new PassThrough();
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    await handler(event(method, path), stream);
    const metadata = sent.metadata as Metadata | undefined;
    assert.ok(metadata, 'headers go out before the body');
    return { ...metadata, body: Buffer.concat(chunks).toString() };
  };

  it('is one minified ES module that brings its own `require` for CommonJS dependencies', () => {
    assert.ok(existsSync(bundle));
    const code = readFileSync(bundle, 'utf8');
    assert.match(
      code,
      /^import \{ createRequire \} from 'node:module'; const require = createRequire\(import\.meta\.url\);\n/,
    );
    // About 1.4 MB minified; twice that if minify were dropped, and every cold start parses it.
    assert.ok(code.length < 2_000_000, `${code.length} bytes: minified?`);
  });

  it('starts with its secret from the extension, and answers a function URL event as Gatehouse', async () => {
    const answer = await invoke('GET', '/api/auth/user');
    assert.equal(answer.statusCode, 401);
    assert.deepEqual(JSON.parse(answer.body), { error: 'unauthenticated', message: 'Sign-in required.' });
    assert.equal(answer.headers['cache-control'], 'no-store');
    assert.deepEqual(asked, [
      { url: `/secretsmanager/get?secretId=${encodeURIComponent(SECRET_ARN)}`, token: SESSION_TOKEN },
    ]);
  });

  it('reads the secret once per execution environment, not per request', async () => {
    const answer = await invoke('GET', '/api/nowhere');
    assert.equal(answer.statusCode, 404);
    assert.equal(JSON.parse(answer.body).error, 'not_found');
    assert.equal(asked.length, 1);
  });
});
