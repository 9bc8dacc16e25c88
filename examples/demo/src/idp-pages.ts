/** HTML of the demo provider's pages: plain, script-free, styled inline. */
import { DEMO_OTP } from './step-up.js';
import type { DemoUser } from './users.js';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

const STYLE = `
  body{margin:0;font-family:system-ui,-apple-system,Segoe UI,sans-serif;background:#eef2f7;color:#1f2933}
  main{max-width:22rem;margin:8vh auto;background:#fff;border-radius:12px;padding:2rem;box-shadow:0 10px 30px rgba(15,23,42,.08)}
  h1{font-size:1.25rem;margin:0 0 .25rem} p{color:#52606d;margin:.25rem 0 1.25rem}
  label{display:block;font-size:.85rem;font-weight:600;margin:.75rem 0 .25rem}
  input{width:100%;box-sizing:border-box;padding:.6rem .7rem;border:1px solid #cbd2d9;border-radius:8px;font-size:1rem}
  button{margin-top:1.25rem;width:100%;padding:.7rem;border:0;border-radius:8px;background:#3b5bdb;color:#fff;font-size:1rem;font-weight:600;cursor:pointer}
  .error{background:#fde8e8;color:#9b1c1c;padding:.5rem .75rem;border-radius:8px}
  .hint{font-size:.8rem;color:#7b8794;margin-top:1.25rem}
  .brand{font-size:.75rem;letter-spacing:.08em;text-transform:uppercase;color:#3b5bdb;font-weight:700}`;

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title>
<style>${STYLE}</style></head><body><main>${body}</main></body></html>`;
}

export function loginPage(uid: string, users: DemoUser[], error?: string, otp = false): string {
  const hint = users.map((u) => `<b>${escapeHtml(u.username)}</b> / ${escapeHtml(u.password)}`).join(' or ');
  return page(
    'Sign in · Demo Identity Provider',
    `<div class="brand">Demo Identity Provider</div>
<h1>Sign in</h1><p>${otp ? 'This needs a stronger sign-in: your password and a one-time code' : 'to continue to the Gatehouse demo'}</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/interaction/${escapeHtml(uid)}" autocomplete="off">
<label for="username">Username</label><input id="username" name="username" required autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" required>
${otp ? '<label for="otp">One-time code</label><input id="otp" name="otp" inputmode="numeric" required>' : ''}
<button type="submit">Sign in</button></form>
<p class="hint">Demo users: ${hint}${otp ? `. One-time code: <b>${DEMO_OTP}</b>` : ''}</p>`,
  );
}

/** The RP-initiated logout confirmation; `form` is oidc-provider's hidden form (it carries the xsrf token). */
export function logoutPage(form: string): string {
  return page(
    'Sign out · Demo Identity Provider',
    `<div class="brand">Demo Identity Provider</div><h1>Sign out?</h1>
<p>You are signing out of the Gatehouse demo.</p>${form}
<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>`,
  );
}

export function messagePage(title: string, message: string): string {
  return page(
    title,
    `<div class="brand">Demo Identity Provider</div><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`,
  );
}
