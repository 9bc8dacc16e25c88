/**
 * The one upstream every target proxies to (and the "direct" target hits itself): nginx when
 * installed, else a minimal node:http server. It serves
 *   GET  /orders/1  a 1 KiB JSON document
 *   GET  /big       a 64 KiB JSON document
 *   POST /upload    reads the whole body (up to 2 MiB), answers {"ok":true}
 * and the GETs again under VIA_GATEWAY, for gw-nginx: only with a Bearer JWT and no browser
 * credentials (lib/nginx.ts).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitForHttp } from './net.js';
import { nginxAvailable, nginxVersion, startNginx, upstreamConfig, VIA_GATEWAY } from './nginx.js';
import { startChild, type Child } from './processes.js';

export const ORDER_PATH = '/orders/1';
export const BIG_PATH = '/big';
export const UPLOAD_PATH = '/upload';
export const ORDER_BYTES = 1024;
export const BIG_BYTES = 64 * 1024;
export const UPLOAD_BYTES = 1024 * 1024;

export interface Upstream {
  kind: 'nginx' | 'node';
  version: string;
  url: string;
  child: Child;
  /** Uploads received since the last call, and the smallest request among them (bytes, headers included for nginx). */
  takeUploads(): Promise<{ count: number; minBytes: number }>;
}

/** A JSON order document of exactly `bytes` bytes (a list of line items, padded with a note). */
export function orderDocument(bytes: number): string {
  const items: unknown[] = [];
  const doc = (note: string) => JSON.stringify({ id: '1', customerId: 'alice', status: 'shipped', items, note });
  for (let i = 0; doc('').length < bytes - 120; i++) {
    items.push({ sku: `SKU-${1000 + i}`, name: `Item number ${i}`, quantity: 1 + (i % 3), price: 9.5 + i });
  }
  while (doc('').length > bytes - 20) items.pop();
  const body = doc('x'.repeat(bytes - doc('').length));
  if (Buffer.byteLength(body) !== bytes) throw new Error(`document is ${body.length} bytes, not ${bytes}`);
  return body;
}

export async function startUpstream(dir: string, prefer: 'nginx' | 'node'): Promise<Upstream> {
  // nginx workers run as an unprivileged user when started by root: they must be able to read these.
  chmodSync(dir, 0o755);
  const www = join(dir, 'www');
  mkdirSync(join(www, 'orders'), { recursive: true });
  writeFileSync(join(www, 'orders', '1'), orderDocument(ORDER_BYTES));
  writeFileSync(join(www, 'big'), orderDocument(BIG_BYTES));
  writeFileSync(join(www, 'upload'), '{}'); // must exist for nginx's static handler to answer 405 (see nginx.ts)
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;

  if (prefer === 'nginx' && nginxAvailable()) {
    const nginxDir = join(dir, 'nginx-upstream');
    mkdirSync(nginxDir);
    const child = startNginx('upstream nginx', nginxDir, upstreamConfig(nginxDir, port, www));
    await waitForHttp(`${url}${ORDER_PATH}`, { status: 200, child });
    const log = join(nginxDir, 'logs', 'uploads.log');
    let seen = 0;
    return {
      kind: 'nginx',
      version: nginxVersion() ?? 'nginx',
      url,
      child,
      async takeUploads() {
        const lines = existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : [];
        const fresh = lines.slice(seen);
        seen = lines.length;
        const sizes = fresh.map((line) => Number(line.split(' ')[0]));
        return { count: sizes.length, minBytes: sizes.length ? Math.min(...sizes) : 0 };
      },
    };
  }

  const script = fileURLToPath(new URL('../peers/node-upstream.js', import.meta.url));
  const child = startChild('upstream node', process.execPath, [script], {
    env: { PORT: String(port), WWW: www, VIA_GATEWAY },
  });
  await waitForHttp(`${url}${ORDER_PATH}`, { status: 200, child });
  return {
    kind: 'node',
    version: `node ${process.version}`,
    url,
    child,
    async takeUploads() {
      const response = await fetch(`${url}/__uploads`);
      return (await response.json()) as { count: number; minBytes: number };
    },
  };
}
