import {
  envReference,
  oidcSection,
  routesSection,
  SECRET_ENV,
  withOverrides,
  type GatehouseRoute,
  type OidcSettings,
} from './config-document.js';

export interface GatehouseLambdaConfigInput {
  /** The domain the browser uses; publicUrl is https://<domainName>. */
  readonly domainName: string;
  readonly oidc: OidcSettings;
  readonly routes: readonly GatehouseRoute[];
  /** routes[].timeout in seconds for routes that set none (serverless-timeouts.ts). */
  readonly upstreamTimeoutSeconds: number;
  /** Deep-merged over the generated document (lists are replaced), e.g. `{ log: { level: 'debug' } }`. */
  readonly overrides?: Record<string, unknown>;
}

/**
 * The Gatehouse configuration document for the Lambda function. Only keys the Lambda runtime takes
 * (packages/gatehouse/src/config/runtimes.ts): no listener, admin, trustProxy or static files (the
 * platform owns those), and no origin-verify secret either: the function URL only takes requests
 * CloudFront signed for this distribution. The client's IP is CloudFront-Viewer-Address, which the
 * handler believes only on such signed requests.
 */
export function gatehouseLambdaConfig(input: GatehouseLambdaConfigInput): Record<string, unknown> {
  const websocket = input.routes.filter((route) => route.websocket).map((route) => route.path);
  if (websocket.length > 0) {
    // Refused here, at synth time, rather than by Gatehouse at the first request in production.
    throw new Error(
      `routes ${websocket.join(', ')}: WebSocket routes need the container variant (Lambda function URLs do not upgrade connections)`,
    );
  }
  const document = {
    publicUrl: `https://${input.domainName}`,
    oidc: oidcSection(input.oidc),
    // Sealed into the browser's cookies: nothing runs beside the function, so no VPC and no NAT.
    session: { store: 'cookie', secrets: [envReference(SECRET_ENV.sessionSecret)] },
    routes: routesSection(input.routes).map((route) => ({
      ...route,
      timeout: route.timeout ?? `${input.upstreamTimeoutSeconds}s`,
    })),
  };
  return withOverrides(document, input.overrides);
}
