/**
 * Where CloudFront sends `api/*`: Gatehouse behind a load balancer (container variant) or a Lambda
 * function URL (serverless variant). Each proves to Gatehouse that the request came through this
 * distribution in its own way: a secret header, or CloudFront's own signature.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { ORIGIN_VERIFY_HEADER } from './origin-verify.js';

/** The load balancer, by the name its certificate covers, with the origin-verify header. */
export function loadBalancerOrigin(originDomainName: string, originVerifyValue: string): cloudfront.IOrigin {
  return new origins.HttpOrigin(originDomainName, {
    protocolPolicy: cloudfront.OriginProtocolPolicy.HTTPS_ONLY,
    originSslProtocols: [cloudfront.OriginSslPolicy.TLS_V1_2],
    // CloudFront replaces any X-Origin-Verify a viewer sends with this one.
    customHeaders: { [ORIGIN_VERIFY_HEADER]: originVerifyValue },
    // Longer than Gatehouse's upstream timeout (routes[].timeout, 30s), so Gatehouse's clear 504
    // reaches the browser rather than CloudFront's generic one.
    readTimeout: Duration.seconds(60),
  });
}

/**
 * The function URL, reached through origin access control: CloudFront signs every request (SigV4)
 * and the URL, with auth type AWS_IAM, runs only signed ones. Adds the resource policy letting this
 * distribution, and nothing else, invoke it.
 */
export function functionUrlOrigin(url: lambda.IFunctionUrl, responseTimeout: Duration): cloudfront.IOrigin {
  return origins.FunctionUrlOrigin.withOriginAccessControl(url, { readTimeout: responseTimeout });
}
