/**
 * nginx, twice: as the upstream every target talks to, and as one of the compared proxies. Each is
 * its own nginx (own prefix dir, own master) with worker_processes 1: the machine has 2 cores, the
 * load generator needs one, and the upstream and the target under test share the other; more nginx
 * workers would only make them fight over it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startChild, type Child } from './processes.js';

export const NGINX = '/usr/sbin/nginx';

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

export function startNginx(name: string, dir: string, config: string): Child {
  const file = join(dir, 'nginx.conf');
  writeFileSync(file, config);
  return startChild(name, NGINX, ['-p', dir, '-c', file, '-e', join(dir, 'logs', 'error.log')]);
}
