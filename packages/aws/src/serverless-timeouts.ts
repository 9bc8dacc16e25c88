import { Duration } from 'aws-cdk-lib';

/**
 * The longest CloudFront waits for an origin's first byte, and then between two bytes, that every
 * account's default "response timeout per origin" quota allows.
 */
export const CLOUDFRONT_RESPONSE_TIMEOUT_LIMIT = Duration.seconds(60);

/** Lambda's own bounds on a function's timeout (a function URL's timeout is the function's). */
const FUNCTION_TIMEOUT_MIN_SECONDS = 10;
const FUNCTION_TIMEOUT_MAX_SECONDS = 900;

/** Gatehouse answers its own 504 this long before CloudFront or Lambda would cut the request. */
const UPSTREAM_MARGIN_SECONDS = 5;

/** Three limits on one request, ordered so the browser gets Gatehouse's JSON 504 rather than a bare 502/504. */
export interface ServerlessTimeouts {
  /** The function's (and so the function URL's) timeout: the most a request, stream included, can last. */
  readonly function: Duration;
  /** CloudFront's origin response timeout: for the first byte, then between bytes of a streamed answer. */
  readonly cloudFront: Duration;
  /** Gatehouse's routes[].timeout for routes that set none: below both of the above. */
  readonly upstream: Duration;
}

/**
 * The timeouts that follow from the function's. A function may run longer than CloudFront's 60
 * seconds (a long server-sent-events stream), since CloudFront's limit is on silence, not on the
 * whole answer; the upstream timeout stays below whichever limit comes first.
 */
export function serverlessTimeouts(functionTimeout: Duration = Duration.seconds(30)): ServerlessTimeouts {
  const seconds = functionTimeout.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < FUNCTION_TIMEOUT_MIN_SECONDS || seconds > FUNCTION_TIMEOUT_MAX_SECONDS) {
    // Below 10 s a cold start plus a sign-in's calls to the provider (10 s each by default) would not fit.
    throw new Error(
      `function timeout: expected whole seconds from ${FUNCTION_TIMEOUT_MIN_SECONDS} to ${FUNCTION_TIMEOUT_MAX_SECONDS}, got ${seconds}`,
    );
  }
  const cloudFront = Math.min(seconds, CLOUDFRONT_RESPONSE_TIMEOUT_LIMIT.toSeconds());
  return {
    function: Duration.seconds(seconds),
    cloudFront: Duration.seconds(cloudFront),
    upstream: Duration.seconds(cloudFront - UPSTREAM_MARGIN_SECONDS),
  };
}
