/**
 * Maps the part of a request path below a route's prefix onto the upstream, refusing anything an
 * upstream (or a normalising hop in between) could resolve outside the route: dot segments (also
 * as `..;params`, which Java servers read as `..`), encoded slashes, backslashes, encoded dots,
 * double encoding, malformed escapes, empty segments and control bytes.
 */
import { GatehouseError } from '../errors.js';

// %2e (.), %2f (/), %5c (\), %25 (double encoding), %00; raw backslash, controls and spaces.
const SUSPICIOUS = /%(2e|2f|5c|25|00)|[\\\u0000-\u0020\u007f]/i;
/** What every refused path contains at least one of: without any, a path is plainly fine. */
const NEEDS_A_LOOK = /[%.;\\\u0000-\u0020\u007f]|\/\//;
/** A "%" not followed by two hex digits (e.g. IIS-style %u002e). */
const MALFORMED_ESCAPE = /%(?![0-9a-f]{2})/i;

/**
 * @param rest the raw path below the prefix: "" or starting with "/" (e.g. "/42/items")
 * @returns the same, checked
 */
export function checkedRestPath(rest: string): string {
  if (rest.length > 4096) throw new GatehouseError('invalid_path');
  if (!NEEDS_A_LOOK.test(rest)) return rest; // the usual "/42/items", in one scan
  if (SUSPICIOUS.test(rest) || MALFORMED_ESCAPE.test(rest)) throw new GatehouseError('invalid_path');
  const segments = rest.split('/');
  // segments[0] is "" (the leading slash); a trailing "" (path ends with "/") is allowed.
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!.split(';', 1)[0]!;
    if (segment === '.' || segment === '..' || (segment === '' && i < segments.length - 1)) {
      throw new GatehouseError('invalid_path');
    }
  }
  return rest;
}
