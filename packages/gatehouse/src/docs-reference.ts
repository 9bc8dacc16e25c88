/**
 * The reference tables in docs/configuration.md and docs/errors.md, generated from the schema and
 * the error registry so they cannot drift: `npm run docs` rewrites them, a test checks them.
 */
import { configKeys } from './config/describe.js';
import { ERROR_CODES } from './errors.js';

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function showDefault(key: { default?: unknown; required: boolean; secret: boolean }): string {
  if (key.required) return '**required**';
  if (key.default === undefined) return '—';
  return `\`${JSON.stringify(key.default)}\``;
}

export function configurationReference(): string {
  const rows = configKeys()
    .filter((key) => key.description !== undefined)
    .map(
      (key) =>
        `| \`${key.path}\` | ${showDefault(key)} | ${cell(key.description!)}${key.secret ? ' *(secret: masked by `gatehouse check`)*' : ''} |`,
    );
  return ['| key | default | meaning |', '| --- | --- | --- |', ...rows].join('\n');
}

export function errorReference(): string {
  const rows = Object.entries(ERROR_CODES).map(
    ([code, { status, message }]) => `| \`${code}\` | ${status} | ${cell(message)} |`,
  );
  return ['| error | status | message |', '| --- | --- | --- |', ...rows].join('\n');
}

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->`. */
export function replaceBlock(document: string, name: string, content: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const from = document.indexOf(start);
  const to = document.indexOf(end);
  if (from === -1 || to === -1) throw new Error(`markers for ${name} not found`);
  return `${document.slice(0, from + start.length)}\n${content}\n${document.slice(to)}`;
}
