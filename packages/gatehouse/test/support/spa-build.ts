/** A small SPA build on disk, shaped like Vite's output, for the static-hosting tests. */
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';

export const SPA_INDEX = `<!doctype html><html><head><title>Test SPA</title>
<script type="module" src="/assets/index-Dq4w1K-A.js"></script></head><body><div id="root"></div></body></html>`;
export const SPA_SCRIPT = `console.log(${JSON.stringify('hello from the app '.repeat(100))});\n`;

export function spaBuild(): string {
  const root = mkdtempSync(join(tmpdir(), 'gatehouse-spa-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), SPA_INDEX);
  writeFileSync(join(root, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(root, 'robots.txt'), 'User-agent: *\n');
  writeFileSync(join(root, '.env'), 'SECRET=do-not-serve\n');
  writeFileSync(join(root, 'assets', 'index-Dq4w1K-A.js'), SPA_SCRIPT);
  writeFileSync(join(root, 'assets', 'index-Dq4w1K-A.js.br'), brotliCompressSync(SPA_SCRIPT));
  writeFileSync(join(root, 'assets', 'index-Dq4w1K-A.js.gz'), gzipSync(SPA_SCRIPT));
  return root;
}
