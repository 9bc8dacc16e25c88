/**
 * The container image, checked without a Docker engine: the Dockerfile passes a linter and has the
 * properties we promise (multi-stage, non-root, HEALTHCHECK, exec-form entry point), the image's
 * own start and health commands work when run directly on this machine with the image's layout,
 * and the runtime stage's dependencies (production only) cover every import of the compiled code.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { DockerfileParser } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { stringify } from 'yaml';
import { freePort } from './support/stack.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const DOCKERFILE = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
const dockerfile = DockerfileParser.parse(DOCKERFILE);
const instructions = dockerfile.getInstructions();
/** The instructions of the last stage: what the running image is made of. */
const runtime = instructions.slice(instructions.lastIndexOf(dockerfile.getFROMs().at(-1)!));
const args = (keyword: string) =>
  runtime.filter((i) => i.getKeyword() === keyword).map((i) => i.getArgumentsContent() ?? '');
/** An exec-form JSON array, with the image's /app mapped onto this repository (same layout). */
const command = (json: string) =>
  (JSON.parse(json) as string[]).map((part) => (part === 'node' ? process.execPath : part.replace(/^\/app\//, REPO)));

describe('Dockerfile', () => {
  it('passes the linter (dockerfile-utils), which does flag broken files', () => {
    assert.deepEqual(validate(DOCKERFILE), []);
    assert.ok(validate('FROM node:22\nEXPOSE eighty\nCMD\n').length > 0);
  });

  it('builds in one stage and runs from another, as a non-root user, in production mode', () => {
    assert.ok(dockerfile.getFROMs().length >= 2, 'multi-stage');
    assert.deepEqual(args('USER'), ['node']);
    assert.ok(args('ENV').includes('NODE_ENV=production'));
    for (const copy of runtime.filter((i) => i.getKeyword() === 'COPY')) {
      assert.match(copy.getTextContent(), /--from=build/, 'the runtime stage takes only build outputs');
    }
    assert.equal(runtime.filter((i) => i.getKeyword() === 'RUN').length, 0, 'nothing installed at runtime');
    assert.equal(instructions.filter((i) => i.getKeyword() === 'ADD').length, 0);
    for (const i of instructions.filter((i) => ['ENV', 'ARG'].includes(i.getKeyword()))) {
      assert.doesNotMatch(i.getTextContent(), /SECRET|PASSWORD|TOKEN/i, 'no secrets baked in');
    }
  });

  it('exposes both listeners, has a HEALTHCHECK, and starts in exec form (node handles SIGTERM)', () => {
    assert.deepEqual(args('EXPOSE'), ['8080 9090']);
    assert.match(args('HEALTHCHECK')[0]!, /^CMD \[/);
    assert.equal(args('ENTRYPOINT').length, 1);
    assert.doesNotThrow(() => JSON.parse(args('ENTRYPOINT')[0]!), 'exec form');
    assert.ok(
      (JSON.parse(args('ENTRYPOINT')[0]!) as string[]).includes('--max-semi-space-size=32'),
      'the young generation docs/operations.md describes',
    );
    assert.deepEqual(JSON.parse(args('CMD')[0]!), ['start']);
  });

  it("keeps the build context small (.dockerignore) and every runtime import in the runtime stage's dependencies", () => {
    const ignored = readFileSync(join(REPO, '.dockerignore'), 'utf8');
    for (const pattern of ['**/node_modules', '**/dist', '.git']) assert.ok(ignored.includes(pattern), pattern);

    const manifest = JSON.parse(readFileSync(join(REPO, 'packages/gatehouse/package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    const dist = join(REPO, 'packages/gatehouse/dist');
    const imported = new Set<string>();
    for (const file of readdirSync(dist, { recursive: true }) as string[]) {
      if (!file.endsWith('.js')) continue;
      const code = readFileSync(join(dist, file), 'utf8').replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, '');
      for (const [, specifier] of code.matchAll(/(?:from|import\()\s*['"]([^'"./][^'"]*)['"]/g)) {
        const name = specifier!.startsWith('@')
          ? specifier!.split('/').slice(0, 2).join('/')
          : specifier!.split('/')[0]!;
        // A scheme names the platform's own modules (node:, cloudflare:), which no package provides.
        if (!name.includes(':') && !builtinModules.includes(name)) imported.add(name);
      }
    }
    assert.ok(imported.size > 5, `found ${imported.size} packages`);
    for (const name of imported) assert.ok(manifest.dependencies[name], `${name} is imported but not a dependency`);
  });

  it("runs the image's start and health commands: configured from the environment, healthy, exits 0 on SIGTERM", async () => {
    const [port, adminPort] = [await freePort(), await freePort()];
    const env = {
      ...process.env,
      GATEHOUSE_CONFIG: stringify({
        publicUrl: `http://127.0.0.1:${port}`,
        server: { host: '127.0.0.1', port },
        admin: { port: adminPort },
        oidc: {
          issuer: 'http://127.0.0.1:9/unreachable',
          clientId: 'bff',
          clientSecret: '${OIDC_CLIENT_SECRET}',
          allowInsecureHttp: true,
        },
        session: { secrets: ['${SESSION_SECRET}'] },
      }),
      OIDC_CLIENT_SECRET: randomBytes(16).toString('hex'),
      SESSION_SECRET: randomBytes(32).toString('base64url'),
    };
    const [entry, ...entryArgs] = command(args('ENTRYPOINT')[0]!);
    const child = spawn(entry!, [...entryArgs, ...JSON.parse(args('CMD')[0]!)], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const healthcheck = () => {
      const [node, ...rest] = command(args('HEALTHCHECK')[0]!.replace(/^CMD /, ''));
      return spawnSync(node!, rest, { env, encoding: 'utf8' }).status;
    };
    try {
      let output = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk) => {
          output += chunk;
          if (output.includes('gatehouse listening')) resolve();
        });
        child.on('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
      });
      assert.doesNotMatch(output, new RegExp(env.OIDC_CLIENT_SECRET), 'the secret from the environment is not logged');
      assert.equal(healthcheck(), 0);
      const response = await fetch(`http://127.0.0.1:${port}/api/auth/user`, { headers: { 'x-csrf': '1' } });
      assert.equal(response.status, 401);

      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.equal(healthcheck(), 1, 'unhealthy once stopped');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
