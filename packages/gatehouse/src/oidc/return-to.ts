/**
 * The post-login destination. Only a path on this site is accepted: anything that a browser could
 * read as another origin (absolute URLs, `//host`, `/\host`, schemes such as `javascript:`, control
 * characters) is refused, never silently rewritten into a redirect.
 */
import { GatehouseError } from '../errors.js';

// Backslashes and control characters are what turn "/\evil.test" or "/\tevil" into off-site URLs.
const UNSAFE = /[\\\u0000-\u001f\u007f]/;

/** Returns the normalised path to send the browser to after sign-in (default: `home`, "/" unless the app lives under a path). */
export function safeReturnTo(value: string | undefined, publicOrigin: string, home = '/'): string {
  if (value === undefined || value === '') return home;
  if (value.length > 2048 || !value.startsWith('/') || value.startsWith('//') || UNSAFE.test(value)) {
    throw new GatehouseError('invalid_return_to');
  }
  let url: URL;
  try {
    url = new URL(value, publicOrigin);
  } catch {
    throw new GatehouseError('invalid_return_to');
  }
  if (url.origin !== publicOrigin) throw new GatehouseError('invalid_return_to');
  return `${url.pathname}${url.search}${url.hash}`;
}
