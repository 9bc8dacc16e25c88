/** A minimal, script-free HTML page for errors that happen during top-level navigations (sign-in). */
import type { GatehouseError } from '../errors.js';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

export const ERROR_PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

export function errorPage(error: GatehouseError, loginPath: string, homePath = '/'): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Sign-in problem</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#1f2933">
<h1 style="font-size:1.4rem">We could not sign you in</h1>
<p>${escapeHtml(error.message)}</p>
<p style="color:#6b7280">Error code: <code>${escapeHtml(error.code)}</code></p>
<p><a href="${escapeHtml(loginPath)}">Sign in again</a> · <a href="${escapeHtml(homePath)}">Home</a></p>
</body></html>`;
}
