/**
 * nginx, twice: as the upstream every target talks to, and as one of the compared proxies. Each is
 * its own nginx (own prefix dir, own master) with worker_processes 1: the machine has 2 cores, the
 * load generator needs one, and the upstream and the target under test share the other; more nginx
 * workers would only make them fight over it.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { documentedConfig } from '../../packages/gatehouse/test/support/gateways.js';
import { startChild, type Child } from './processes.js';

export const NGINX = '/usr/sbin/nginx';

/**
 * Where the upstream serves gw-nginx's API calls: the same documents, but only to requests that
 * came the gateway's way (a Bearer JWT, no Cookie, no X-CSRF); anything else gets a 4xx, which the
 * load generator counts as a failure. So every measured request proves the gateway did its job.
 */
export const VIA_GATEWAY = '/via-gateway';

export function nginxAvailable(): boolean {
  return existsSync(NGINX);
}

export function nginxVersion(): string | undefined {
  if (!nginxAvailable()) return undefined;
  // nginx prints its version on stderr
  try {
    return execFileSync(NGINX, ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim() || undefined;
  } catch (error) {
    return String((error as { stderr?: string }).stderr ?? '').trim() || undefined;
  }
}

/** What both configurations share: one worker, no access log, keep-alive for as long as the run lasts. */
function common(dir: string): string {
  for (const sub of ['tmp', 'logs']) mkdirSync(join(dir, sub), { recursive: true });
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/logs/error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  # nginx closes a keep-alive connection after 1000 requests by default; a benchmark connection should
  # stay open, as a browser's or a proxy pool's does.
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  client_body_temp_path ${dir}/tmp/body;
  proxy_temp_path ${dir}/tmp/proxy;
  fastcgi_temp_path ${dir}/tmp/fastcgi;
  uwsgi_temp_path ${dir}/tmp/uwsgi;
  scgi_temp_path ${dir}/tmp/scgi;
`;
}

/**
 * The upstream: static JSON files (1 KiB and 64 KiB) and an upload endpoint. A plain `return 200` on
 * POST answers before the body has arrived (and nginx then discards it), so the upload location reads
 * the whole body first (mirror_request_body), answers from a named location, and logs how many bytes
 * each request really had, which the upload scenario checks.
 */
export function upstreamConfig(dir: string, port: number, www: string): string {
  return `${common(dir)}
  log_format received '$request_length $status';
  server {
    listen 127.0.0.1:${port} backlog=4096;
    root ${www};
    default_type application/json;
    open_file_cache max=100;
    location = /upload {
      client_max_body_size 2m;
      client_body_buffer_size 2m;
      mirror /drain;
      mirror_request_body on;
      # the static handler answers POST with 405 once the body is in: turn that into the answer
      error_page 405 =200 @uploaded;
    }
    location = /drain { internal; return 204; }
    location @uploaded {
      access_log ${dir}/logs/uploads.log received;
      return 200 '{"ok":true}';
    }
    # gw-nginx's calls (VIA_GATEWAY above): a JWT as Bearer token, none of the browser's credentials
    location ${VIA_GATEWAY}/ {
      alias ${www}/;
      if ($http_authorization !~ "^Bearer [\\w-]+\\.[\\w-]+\\.[\\w-]+$") { return 401 '{"error":"no token"}'; }
      if ($http_cookie != "") { return 400 '{"error":"the cookie reached the API"}'; }
      if ($http_x_csrf != "") { return 400 '{"error":"X-CSRF reached the API"}'; }
    }
  }
}
`;
}

/**
 * nginx as a plain reverse proxy for /api/* (prefix stripped), with a keep-alive upstream pool.
 * Request bodies are buffered as nginx does by default, but in memory (a 2 MiB buffer instead of
 * 16 KiB plus a temp file): that is nginx at its best here, three times faster on 1 MiB uploads
 * than streaming them with proxy_request_buffering off. Responses are buffered in memory only.
 */
export function proxyConfig(dir: string, port: number, upstreamPort: number): string {
  return `${common(dir)}
  upstream backend {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
    keepalive_requests 10000000;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    location /api/ {
      proxy_pass http://backend/;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_max_temp_file_size 0;
      client_max_body_size 2m;
      client_body_buffer_size 2m;
    }
  }
}
`;
}

/** Where gw-nginx's nginx sends what, as host:port; and the secret its forward-auth calls carry. */
export interface GatewayAddresses {
  gatehouse: string;
  gatehouseGateway: string;
  api: string;
  secret: string;
}

/**
 * gw-nginx (lib/gateway.ts): docs/gateway.md's nginx configuration, read from the docs as
 * gateway.test.ts reads it, so the bench measures what users are told to run. Replaced: the
 * addresses, the secret, the listen line (the other proxies' backlog), the cache path, and the
 * API's path (the docs' API serves /v1/orders, the bench's VIA_GATEWAY/orders). The auth_request
 * and cache directives stay exactly as documented.
 */
export function gatewayConfig(dir: string, port: number, to: GatewayAddresses): string {
  // nginx's workers drop to nobody when started as root: they must reach the cache and temp dirs
  // (nginx creates those itself, owned by the workers' user).
  chmodSync(dir, 0o755);
  const site = [
    ['127.0.0.1:8080', to.gatehouse],
    ['127.0.0.1:9091', to.gatehouseGateway],
    ['orders.internal:8080', to.api],
    ['change-me-to-the-gateway-secret-of-32+chars', to.secret],
    ['/var/cache/nginx/gatehouse', join(dir, 'cache')],
    ['listen 80;', `listen 127.0.0.1:${port} backlog=4096;`],
    [' /v1/orders$1 break;', ` ${VIA_GATEWAY}/orders$1 break;`],
  ].reduce((text, [from, value]) => substitute(text, from!, value!), documentedConfig('nginx-gateway'));
  return `${common(dir)}${site}}
`;
}

/** Every occurrence of `from`, which must be there: if the docs change, the bench must not quietly measure something else. */
function substitute(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`docs/gateway.md's nginx configuration no longer contains "${from}"`);
  return text.replaceAll(from, to);
}

export function startNginx(name: string, dir: string, config: string): Child {
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, config);
  return startChild(name, NGINX, ['-p', dir, '-c', file, '-e', join(dir, 'logs', 'error.log')]);
}
