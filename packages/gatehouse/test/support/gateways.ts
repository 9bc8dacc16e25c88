/**
 * Real API gateways for tests: nginx and Caddy (Debian packages) running the configurations
 * docs/gateway.md gives, as written there, with only the addresses replaced. Without the binaries
 * the suites skip, and say why; CI sets REQUIRE_GATEWAYS=1, which makes that a failure.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export const NGINX = '/usr/sbin/nginx';
export const CADDY = '/usr/bin/caddy';

/** `false` when the gateway can run; otherwise why its suite skips. */
export function gatewayUnavailable(binary: string): string | false {
  if (existsSync(binary)) return false;
  const reason = `${binary} is not installed (apt-get install nginx-light caddy)`;
  if (process.env.REQUIRE_GATEWAYS === '1') throw new Error(`${reason}, and REQUIRE_GATEWAYS=1`);
  process.stderr.write(`SKIPPING gateway tests: ${reason}. Set REQUIRE_GATEWAYS=1 to make this a failure.\n`);
  return reason;
}

/** Where a gateway sends what: Gatehouse's two listeners and the API, as host:port. */
export interface GatewayTargets {
  /** The gateway's own port (it listens on 127.0.0.1). */
  port: number;
  gatehouse: string;
  gatehouseGateway: string;
  api: string;
  secret: string;
}

export interface RunningGateway {
  url: string;
  stop(): Promise<void>;
}

/** A configuration block of docs/gateway.md (between `<!-- name:start -->` and `<!-- name:end -->`), without its fence. */
export function documentedConfig(name: 'nginx-gateway' | 'caddy-gateway'): string {
  const docs = readFileSync(new URL('../../../../docs/gateway.md', import.meta.url), 'utf8');
  const block = docs.slice(docs.indexOf(`<!-- ${name}:start -->`), docs.indexOf(`<!-- ${name}:end -->`));
  return /```\w+\n([^]*?)```/.exec(block)![1]!;
}

/** The documented addresses, and the secret placeholder, replaced by the test's. */
function addressed(config: string, targets: GatewayTargets): string {
  return config
    .replaceAll('127.0.0.1:8080', targets.gatehouse)
    .replaceAll('127.0.0.1:9091', targets.gatehouseGateway)
    .replaceAll('orders.internal:8080', targets.api)
    .replaceAll('change-me-to-the-gateway-secret-of-32+chars', targets.secret);
}

export async function startNginxGateway(targets: GatewayTargets): Promise<RunningGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-nginx-'));
  // nginx's workers drop to an unprivileged user when started as root: they must reach the cache and temp files.
  chmodSync(dir, 0o755);
  for (const sub of ['tmp', 'logs', 'cache']) mkdirSync(join(dir, sub), { mode: 0o777 });
  const site = addressed(documentedConfig('nginx-gateway'), targets)
    .replace('/var/cache/nginx/gatehouse', join(dir, 'cache'))
    .replace('listen 80;', `listen 127.0.0.1:${targets.port};`);
  const file = join(dir, 'nginx.conf');
  writeFileSync(
    file,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
${site}
}
`,
  );
  return run(NGINX, ['-p', dir, '-c', file, '-e', join(dir, 'logs', 'error.log')], targets.port, {}, dir);
}

export async function startCaddyGateway(targets: GatewayTargets): Promise<RunningGateway> {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-caddy-'));
  const site = addressed(documentedConfig('caddy-gateway'), targets).replace(
    'app.example.com {',
    `http://127.0.0.1:${targets.port} {`,
  );
  const file = join(dir, 'Caddyfile');
  writeFileSync(file, `{\n\tadmin off\n\tauto_https off\n}\n\n${site}`);
  const env = { XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: join(dir, 'config'), HOME: dir };
  return run(CADDY, ['run', '--config', file, '--adapter', 'caddyfile'], targets.port, env, dir);
}

async function run(
  binary: string,
  args: string[],
  port: number,
  env: Record<string, string>,
  dir: string,
): Promise<RunningGateway> {
  const child: ChildProcess = spawn(binary, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let output = '';
  child.stderr!.on('data', (chunk) => (output += String(chunk)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let tries = 0; !(await listening(port)); tries++) {
    if (child.exitCode !== null || tries > 100) {
      child.kill('SIGKILL');
      throw new Error(`${binary} did not start (see ${dir}): ${output.slice(-500)}`);
    }
    await sleep(50);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
