/**
 * The CloudFront Function that answers deep links with index.html, run in Node from the very file
 * the distribution ships (FunctionCode.fromFile), in an empty context as CloudFront runs it.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import vm from 'node:vm';
import { SPA_REWRITE_FUNCTION_FILE } from '../src/distribution.js';

interface Request {
  method: string;
  uri: string;
  querystring: Record<string, { value: string }>;
  headers: Record<string, { value: string }>;
}

const source = readFileSync(SPA_REWRITE_FUNCTION_FILE, 'utf8');
const handler = vm.runInNewContext(`${source}\nhandler;`, {}, { filename: SPA_REWRITE_FUNCTION_FILE }) as (event: {
  request: Request;
}) => Request;

const viewerRequest = (uri: string): Request => ({
  method: 'GET',
  uri,
  querystring: { tab: { value: 'details' } },
  headers: { host: { value: 'app.example.com' }, accept: { value: 'text/html' } },
});

describe('SPA rewrite (CloudFront Function)', () => {
  const cases: [string, string, string][] = [
    ['/', '/index.html', 'the site root'],
    ['/orders/42', '/index.html', 'a client-side route'],
    ['/orders', '/index.html', 'a one-segment route'],
    ['/settings/', '/index.html', 'a route with a trailing slash'],
    ['/a.b/c', '/index.html', 'a dot in a folder name, not in the last segment'],
    ['/assets/app-abc.js', '/assets/app-abc.js', 'a hashed asset'],
    ['/favicon.svg', '/favicon.svg', 'a file at the root'],
    ['/assets/missing.js', '/assets/missing.js', 'a missing asset, left to S3 to answer 404'],
    ['/index.html', '/index.html', 'index.html itself'],
  ];
  for (const [uri, expected, what] of cases) {
    it(`${uri} -> ${expected} (${what})`, () => {
      const request = viewerRequest(uri);
      const result = handler({ request });
      assert.equal(result.uri, expected);
      // Only the path changes: method, query string and headers reach the origin as sent.
      assert.deepEqual({ ...result, uri }, viewerRequest(uri));
    });
  }

  it('is a plain script CloudFront can run: no module syntax, one handler', () => {
    assert.doesNotMatch(source, /^\s*(import|export)\s/m);
    assert.match(source, /^function handler\(event\) \{$/m);
  });
});
