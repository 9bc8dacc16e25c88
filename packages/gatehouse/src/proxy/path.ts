/**
 * Maps the part of a request path below a route's prefix onto the upstream, refusing anything an
 * upstream (or a normalising hop in between) could resolve outside the route: dot segments,
 * encoded slashes, backslashes, encoded dots, double encoding, empty segments and control bytes.
 */
import { GatehouseError } from '../errors.js';

// %2e (.), %2f (/), %5c (\), %25 (double encoding), %00: refused in any case.
const SUSPICIOUS = /%(2e|2f|5c|25|00)|[\\\u0000-\u0020\u007f]/i;

/**
 * @param rest the raw path below the prefix: "" or starting with "/" (e.g. "/42/items")
 * @returns the same, checked
 */
export function checkedRestPath(rest: string): string {
  if (rest === '') return rest;
  if (rest.length > 4096 || SUSPICIOUS.test(rest)) throw new GatehouseError('invalid_path');
  const segments = rest.split('/');
  // segments[0] is "" (the leading slash); a trailing "" (path ends with "/") is allowed.
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    if (segment === '.' || segment === '..' || (segment === '' && i < segments.length - 1)) {
      throw new GatehouseError('invalid_path');
    }
  }
  return rest;
}
