/**
 * The HTTP events Lambda delivers, as web-standard Requests, and Responses back as the results
 * each event source wants. Function URLs and API Gateway HTTP APIs send payload format 2.0
 * (cookies in their own list, one header value joined by commas); Application Load Balancers send
 * their own format (multi-value headers when the target group enables them).
 *
 * Bodies pass as bytes both ways (base64 in the event and the result), so binary bodies arrive as
 * they were sent. The request target is the raw path the event carries, not a re-parsed URL, so
 * the path checks see what the browser sent.
 */
import { STATUS_CODES } from 'node:http';
import { GatehouseError } from '../errors.js';
import { readAll } from '../web/chunks.js';

export interface HttpApiEvent {
  version: '2.0';
  rawPath: string;
  rawQueryString: string;
  cookies?: string[];
  headers: Record<string, string | undefined>;
  body?: string;
  isBase64Encoded: boolean;
  requestContext: {
    domainName: string;
    http: { method: string; sourceIp: string };
    /** Present when the function URL needs IAM auth (CloudFront origin access control signs for it). */
    authorizer?: { iam?: unknown };
  };
}

export interface AlbEvent {
  httpMethod: string;
  path: string;
  queryStringParameters?: Record<string, string>;
  multiValueQueryStringParameters?: Record<string, string[]>;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  body?: string;
  isBase64Encoded: boolean;
  requestContext: { elb: { targetGroupArn: string } };
}

export type LambdaHttpEvent = HttpApiEvent | AlbEvent;

export interface HttpApiResult {
  statusCode: number;
  headers: Record<string, string>;
  cookies: string[];
  body: string;
  isBase64Encoded: true;
}

export interface AlbResult {
  statusCode: number;
  statusDescription: string;
  headers?: Record<string, string>;
  multiValueHeaders?: Record<string, string[]>;
  body: string;
  isBase64Encoded: true;
}

/** The largest buffered answer each source takes (Lambda's 6 MB payload, ALB's 1 MB), base64 included. */
const BUFFERED_LIMIT = { 'http-api': 6 * 1024 * 1024, alb: 1024 * 1024 } as const;

export function isAlbEvent(event: LambdaHttpEvent): event is AlbEvent {
  return 'httpMethod' in event && 'elb' in (event.requestContext ?? {});
}

/** The event as a Request, with the target as sent and the client's address. */
export function requestOf(event: LambdaHttpEvent): { request: Request; target: string; ip: string } {
  const headers = new Headers();
  let method: string;
  let target: string;
  let host: string;
  let ip: string;
  if (isAlbEvent(event)) {
    method = event.httpMethod;
    for (const [name, values] of Object.entries(event.multiValueHeaders ?? {})) {
      for (const value of values) headers.append(name, value);
    }
    for (const [name, value] of Object.entries(event.headers ?? {})) if (!headers.has(name)) headers.set(name, value);
    // ALB hands query values over as they were sent (still percent-encoded).
    const pairs = event.multiValueQueryStringParameters
      ? Object.entries(event.multiValueQueryStringParameters).flatMap(([name, values]) =>
          values.map((v) => `${name}=${v}`),
        )
      : Object.entries(event.queryStringParameters ?? {}).map(([name, value]) => `${name}=${value}`);
    target = event.path + (pairs.length > 0 ? `?${pairs.join('&')}` : '');
    host = headers.get('host') ?? 'localhost';
    // The load balancer appends the address it saw to X-Forwarded-For: the last entry is its own word.
    ip = (headers.get('x-forwarded-for') ?? '').split(',').at(-1)!.trim() || '0.0.0.0';
  } else {
    method = event.requestContext.http.method;
    for (const [name, value] of Object.entries(event.headers)) if (value !== undefined) headers.set(name, value);
    if (event.cookies?.length) headers.set('cookie', event.cookies.join('; '));
    target = event.rawPath + (event.rawQueryString ? `?${event.rawQueryString}` : '');
    host = event.requestContext.domainName;
    ip = clientIp(event, headers);
  }
  const body =
    event.body === undefined || event.body === null || method === 'GET' || method === 'HEAD'
      ? undefined
      : Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8');
  const request = new Request(`https://${host}${safeTarget(target)}`, { method, headers, body });
  return { request, target, ip };
}

/**
 * Behind CloudFront with origin access control, only CloudFront can invoke the function URL (IAM),
 * so the viewer's address it reports (CloudFront-Viewer-Address, ip:port) is trusted; otherwise
 * the address the connection came from.
 */
function clientIp(event: HttpApiEvent, headers: Headers): string {
  const viewer = headers.get('cloudfront-viewer-address');
  if (viewer && event.requestContext.authorizer?.iam)
    return viewer.slice(0, viewer.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  return event.requestContext.http.sourceIp;
}

/** A URL the Request constructor accepts for any target (the raw target travels beside it). */
function safeTarget(target: string): string {
  return target.startsWith('/') ? target : `/${target}`;
}

/** A buffered result for the event's source; an answer larger than the source takes is a clear 502, never cut short. */
export async function resultOf(event: LambdaHttpEvent, response: Response): Promise<HttpApiResult | AlbResult> {
  const alb = isAlbEvent(event);
  const limit = BUFFERED_LIMIT[alb ? 'alb' : 'http-api'];
  let bytes: Buffer;
  try {
    bytes = await readUpTo(response, Math.floor((limit * 3) / 4));
  } catch (error) {
    if (!(error instanceof GatehouseError)) throw error;
    return resultOf(event, refusal(response, error));
  }
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') headers[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  const body = bytes.toString('base64');
  if (!alb) return { statusCode: response.status, headers, cookies, body, isBase64Encoded: true };
  const statusDescription = `${response.status} ${STATUS_CODES[response.status] ?? ''}`.trim();
  if (!event.multiValueHeaders) {
    if (cookies.length > 1) {
      // Without multi-value headers the load balancer would keep one Set-Cookie and drop the rest.
      const failure = new GatehouseError('server_error', {
        detail: 'several Set-Cookie headers need multi-value headers on the ALB target group',
      });
      return resultOf(event, refusal(response, failure));
    }
    if (cookies[0]) headers['set-cookie'] = cookies[0];
    return { statusCode: response.status, statusDescription, headers, body, isBase64Encoded: true };
  }
  const multiValueHeaders = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]]));
  if (cookies.length > 0) multiValueHeaders['set-cookie'] = cookies;
  return { statusCode: response.status, statusDescription, multiValueHeaders, body, isBase64Encoded: true };
}

/** The body, refused past `limit` bytes. */
async function readUpTo(response: Response, limit: number): Promise<Buffer> {
  if (!response.body) return Buffer.alloc(0);
  return readAll(
    response.body,
    limit,
    () => new GatehouseError('response_too_large', { detail: `answer over ${limit} bytes, the event source's limit` }),
  );
}

/** The JSON error in place of an answer that cannot be delivered as it is, with the security headers it had. */
export function refusal(original: Response, failure: GatehouseError): Response {
  const headers = new Headers();
  original.headers.forEach((value, name) => {
    if (!['content-type', 'content-length', 'content-encoding', 'set-cookie', 'etag'].includes(name))
      headers.set(name, value);
  });
  headers.set('content-type', 'application/json; charset=utf-8');
  headers.set('cache-control', 'no-store');
  return new Response(JSON.stringify(failure.toJSON()), { status: failure.status, headers });
}
