/** `npm run docs`: regenerates the reference tables in docs/ from the code. */
import { readFileSync, writeFileSync } from 'node:fs';
import { configurationReference, errorReference, replaceBlock } from '../src/docs-reference.js';

const docs = new URL('../../../docs/', import.meta.url);
for (const [file, block, content] of [
  ['configuration.md', 'config-reference', configurationReference()],
  ['errors.md', 'error-reference', errorReference()],
] as const) {
  const path = new URL(file, docs);
  writeFileSync(path, replaceBlock(readFileSync(path, 'utf8'), block, content));
  process.stdout.write(`updated docs/${file}\n`);
}
