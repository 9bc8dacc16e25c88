/**
 * Tokens for one API each, derived from the user's sign-in: by resource indicator (RFC 8707: the
 * refresh token asked for an access token whose audience is that API) or by token exchange (RFC
 * 8693: the user's access token exchanged for one scoped to that API). What a route or upstream
 * asks for is a DerivedSpec; the session keeps one token per spec (`SessionData.derived`), under a
 * key that names what it is for.
 */
import { isExchange, type ExchangeConfig, type TokenChoiceConfig } from '../config/schema.js';

export type DerivedSpec =
  | { kind: 'resource'; key: string; resource: string; scope?: string }
  | { kind: 'exchange'; key: string; exchange: ExchangeConfig };

const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** The derived token a route or upstream carries for a signed-in user, if any. */
export function derivedSpec(target: {
  token: TokenChoiceConfig;
  resource?: string;
  scope?: string;
}): DerivedSpec | undefined {
  if (isExchange(target.token)) {
    const { grant, audience, resource, scope } = target.token.exchange;
    return {
      kind: 'exchange',
      key: `${grant} ${audience ?? ''} ${resource ?? ''} ${scope ?? ''}`,
      exchange: target.token.exchange,
    };
  }
  if (target.resource === undefined || target.token === 'client' || target.token === 'none') return undefined;
  return {
    kind: 'resource',
    key: `resource ${target.resource} ${target.scope ?? ''}`,
    resource: target.resource,
    scope: target.scope,
  };
}

/** The refresh-token grant's extra parameters for a resource token. */
export function resourceParameters(spec: Extract<DerivedSpec, { kind: 'resource' }>): Record<string, string> {
  return { resource: spec.resource, ...(spec.scope ? { scope: spec.scope } : {}) };
}

/**
 * The grant that exchanges the user's token, and its parameters: RFC 8693 §2.1, or the on-behalf-of
 * form (RFC 7523's JWT bearer grant with requested_token_use, Microsoft Entra ID's).
 */
export function exchangeGrant(
  exchange: ExchangeConfig,
  subjectToken: string,
  actorToken: string | undefined,
): { grantType: string; parameters: Record<string, string> } {
  if (exchange.grant === 'on-behalf-of') {
    return {
      grantType: JWT_BEARER,
      parameters: { assertion: subjectToken, requested_token_use: 'on_behalf_of', scope: exchange.scope! },
    };
  }
  const parameters: Record<string, string> = {
    subject_token: subjectToken,
    subject_token_type: ACCESS_TOKEN_TYPE,
    requested_token_type: exchange.requestedTokenType,
  };
  if (exchange.audience) parameters.audience = exchange.audience;
  if (exchange.resource) parameters.resource = exchange.resource;
  if (exchange.scope) parameters.scope = exchange.scope;
  if (actorToken) Object.assign(parameters, { actor_token: actorToken, actor_token_type: ACCESS_TOKEN_TYPE });
  return { grantType: TOKEN_EXCHANGE, parameters };
}

/** What sign-in asks for so that every resource token can be had later: the resources and their scopes. */
export function signInResources(targets: readonly { token: TokenChoiceConfig; resource?: string; scope?: string }[]): {
  resources: string[];
  scopes: string[];
} {
  const specs = targets
    .map(derivedSpec)
    .filter((spec): spec is Extract<DerivedSpec, { kind: 'resource' }> => spec?.kind === 'resource');
  return {
    resources: [...new Set(specs.map((spec) => spec.resource))],
    scopes: [...new Set(specs.flatMap((spec) => spec.scope?.split(' ').filter(Boolean) ?? []))],
  };
}
