/**
 * Gatehouse as a Cloudflare Worker in real workerd (the runtime Cloudflare runs, from the `workerd`
 * npm package): the Worker bundled from src/cloudflare with esbuild as wrangler would, its
 * configuration in the GATEHOUSE_CONFIG variable, sessions in GatehouseSessions Durable Objects (in
 * memory), and every fetch() to the provider and upstreams going out over this machine's network.
 * With an SPA build, the Worker runs under Miniflare instead (wrangler's local runtime, workerd
 * inside), whose static assets are Cloudflare's own asset server: content types, ETags, HTML
 * handling and the Worker-first routing of `run_worker_first`.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';

const workerd: { default: string; compatibilityDate: string } = createRequire(import.meta.url)('workerd');
/** Miniflare's own workerd (it pins one), which may be older than ours. */
const MINIFLARE_WORKERD: { compatibilityDate: string } = createRequire(
  createRequire(import.meta.url).resolve('miniflare'),
)('workerd');
const CLOUDFLARE_ENTRY = fileURLToPath(new URL('../../src/cloudflare/index.ts', import.meta.url));

export interface RunningWorker {
  url: string;
  /** A second instance of the same Worker (its own isolate, its own memory), sharing the Durable Objects; not with an SPA. */
  peerUrl?: string;
  /** What the Worker wrote to its console (JSON log lines, errors). */
  output(): string;
  stop(): Promise<void>;
}

export interface WorkerSetup {
  port: number;
  /** The second instance's port. */
  peerPort: number;
  /** The configuration document, as the GATEHOUSE_CONFIG variable holds it (unless the entry bundles its own). */
  config?: unknown;
  /** More vars (the `${NAME}`s the configuration names). */
  vars?: Record<string, string>;
  /** A folder served as the Worker's static assets (ASSETS), run_worker_first as docs/deploy-cloudflare.md configures it. */
  assets?: string;
  /** A module whose default export is a list of extensions, bundled into the Worker. */
  extensions?: string;
  /** A Worker entry of one's own (e.g. examples/cloudflare/worker.ts) instead of the default one. */
  entry?: string;
}

const bundles = new Map<string, Promise<string>>();

/**
 * The Worker script, built once per test process and entry: `gatehouse/cloudflare` with a default
 * export (and the extensions module, if any), or the given entry, bundled as wrangler would
 * (`gatehouse/cloudflare` from this checkout, YAML as text).
 */
function bundle(extensions?: string, given?: string): Promise<string> {
  const id = `${extensions ?? ''}|${given ?? ''}`;
  let bundled = bundles.get(id);
  bundled ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-worker-'));
    const entry = given ?? join(dir, 'entry.ts');
    if (!given)
      writeFileSync(
        entry,
        `import { createWorker, GatehouseSessions } from ${JSON.stringify(CLOUDFLARE_ENTRY)};\n` +
          (extensions
            ? `import extensions from ${JSON.stringify(extensions)};\nexport default createWorker({ extensions });\n`
            : 'export default createWorker();\n') +
          'export { GatehouseSessions };\n',
      );
    const out = join(dir, 'worker.mjs');
    await build({
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      mainFields: ['module', 'main'],
      conditions: ['workerd', 'worker', 'import'],
      external: ['node:*', 'cloudflare:*'],
      alias: { 'gatehouse/cloudflare': CLOUDFLARE_ENTRY },
      loader: { '.yaml': 'text' },
      outfile: out,
      logLevel: 'error',
    });
    return out;
  })();
  bundles.set(id, bundled);
  return bundled;
}

export async function startWorker(setup: WorkerSetup): Promise<RunningWorker> {
  const script = await bundle(setup.extensions, setup.entry);
  if (setup.assets) return withAssets(setup, script);
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-workerd-'));
  copyFileSync(script, join(dir, 'worker.mjs')); // workerd embeds files relative to its configuration
  const text = (name: string, value: string) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(value)})`;
  const bindings = [
    ...(setup.config === undefined ? [] : [text('GATEHOUSE_CONFIG', JSON.stringify(setup.config))]),
    ...Object.entries(setup.vars ?? {}).map(([name, value]) => text(name, value)),
    '(name = "GATEHOUSE_SESSIONS", durableObjectNamespace = "GatehouseSessions")',
  ];
  writeFileSync(
    join(dir, 'config.capnp'),
    `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "gatehouse", worker = .gatehouse),
    (name = "gatehouse-peer", worker = .peer),
    (name = "network", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [
    (name = "http", address = "127.0.0.1:${setup.port}", http = (), service = "gatehouse"),
    (name = "peer", address = "127.0.0.1:${setup.peerPort}", http = (), service = "gatehouse-peer"),
  ],
);
const gatehouse :Workerd.Worker = (
  modules = [(name = "worker.mjs", esModule = embed "worker.mjs")],
  compatibilityDate = ${JSON.stringify(workerd.compatibilityDate)},
  compatibilityFlags = ["nodejs_compat"],
  bindings = [${bindings.join(', ')}],
  durableObjectNamespaces = [(className = "GatehouseSessions", uniqueKey = "gatehouse-test-sessions")],
  durableObjectStorage = (inMemory = void),
  globalOutbound = "network",
);
const peer :Workerd.Worker = (
  modules = [(name = "worker.mjs", esModule = embed "worker.mjs")],
  compatibilityDate = ${JSON.stringify(workerd.compatibilityDate)},
  compatibilityFlags = ["nodejs_compat"],
  bindings = [${bindings.join(', ').replace('durableObjectNamespace = "GatehouseSessions"', 'durableObjectNamespace = (serviceName = "gatehouse", className = "GatehouseSessions")')}],
  globalOutbound = "network",
);
`,
  );
  const child = spawn(workerd.default, ['serve', join(dir, 'config.capnp'), '--verbose'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += String(chunk)));
  child.stderr.on('data', (chunk) => (output += String(chunk)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${setup.port}`;
  for (let tries = 0; ; tries++) {
    if (child.exitCode !== null || tries > 200) {
      child.kill('SIGKILL');
      throw new Error(`workerd did not start: ${output.slice(-2000)}`);
    }
    if (
      await fetch(`${url}/__up`).then(
        () => true,
        () => false,
      )
    )
      break;
    await sleep(50);
  }
  return {
    url,
    peerUrl: `http://127.0.0.1:${setup.peerPort}`,
    output: () => output,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Under Miniflare, with Cloudflare's asset server in front as Workers static assets deploy it. */
async function withAssets(setup: WorkerSetup, script: string): Promise<RunningWorker> {
  let output = '';
  const miniflare = new Miniflare({
    // Listed, not located: Miniflare's module walker refuses the bundle's dynamic import() (extension modules).
    modules: [{ type: 'ESModule', path: script }],
    modulesRoot: dirname(script),
    compatibilityDate: MINIFLARE_WORKERD.compatibilityDate,
    compatibilityFlags: ['nodejs_compat'],
    bindings: {
      ...(setup.config === undefined ? {} : { GATEHOUSE_CONFIG: JSON.stringify(setup.config) }),
      ...setup.vars,
    },
    durableObjects: { GATEHOUSE_SESSIONS: 'GatehouseSessions' },
    assets: {
      directory: setup.assets!,
      binding: 'ASSETS',
      routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true },
    },
    host: '127.0.0.1',
    port: setup.port,
    handleRuntimeStdio(stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) {
      stdout.on('data', (chunk: Buffer) => (output += String(chunk)));
      stderr.on('data', (chunk: Buffer) => (output += String(chunk)));
    },
  });
  const url = new URL(await miniflare.ready).origin;
  return { url, output: () => output, stop: () => miniflare.dispose() };
}
