/** Ports and readiness. */
import { request, type IncomingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Child } from './processes.js';

// The tests' port picker: below the ephemeral range, never the same port twice in one process.
export { freePort } from '../../packages/gatehouse/test/support/stack.js';

/** Polls `url` until it answers `status` (any status when omitted); fails early if `child` exits. */
export async function waitForHttp(
  url: string,
  options: { status?: number; timeoutMs?: number; child?: Child } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (options.child && options.child.process.exitCode !== null) {
      throw new Error(`${options.child.name} exited (${options.child.process.exitCode}):\n${options.child.output()}`);
    }
    try {
      const response = await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(2_000) });
      await response.arrayBuffer();
      if (options.status === undefined || response.status === options.status) return;
      last = `status ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await sleep(100);
  }
  const output = options.child ? `\n${options.child.name} output:\n${options.child.output()}` : '';
  throw new Error(`${url} not ready (${last})${output}`);
}

/** One plain HTTP/1.1 request (node:http adds no headers of its own, unlike fetch). */
export function httpRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: Buffer } = {},
): Promise<{ status: number; headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error(`${url}: no answer in 10 s`)));
    req.end(options.body);
  });
}
