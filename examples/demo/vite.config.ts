// The demo SPA: built into dist/, which Gatehouse serves at "/" (static.root in gatehouse.yaml).
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

export default defineConfig({
  root: 'web',
  plugins: [react(), precompress()],
  build: { outDir: '../dist', emptyOutDir: true },
});

/** Writes .br and .gz next to each text asset; Gatehouse serves them to browsers that accept them. */
function precompress(): Plugin {
  let outDir = '';
  return {
    name: 'precompress',
    apply: 'build',
    configResolved: (config) => void (outDir = resolve(config.root, config.build.outDir)),
    async closeBundle() {
      const files = await readdir(outDir, { recursive: true });
      for (const file of files.filter((f) => /\.(js|css|html|svg|json)$/.test(f))) {
        const path = join(outDir, file);
        const content = await readFile(path);
        if (content.length < 1024) continue; // not worth a round of decompression
        await writeFile(`${path}.br`, brotliCompressSync(content));
        await writeFile(`${path}.gz`, gzipSync(content, { level: 9 }));
      }
    },
  };
}
