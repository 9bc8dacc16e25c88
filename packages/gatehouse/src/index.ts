/**
 * Gatehouse's public API.
 *
 * @example
 * ```ts
 * import { createGatehouse, loadConfigFile } from 'gatehouse';
 * const gatehouse = await createGatehouse(loadConfigFile('gatehouse.yaml'));
 * const { url } = await gatehouse.listen();
 * ```
 */
export { createGatehouse, type Gatehouse, type GatehouseOptions } from './server.js';
export {
  loadConfigFile,
  loadConfigText,
  parseConfig,
  ConfigError,
  type GatehouseConfig,
  type RouteConfig,
} from './config/load.js';
export type { GatehouseConfigInput } from './config/schema.js';
export { configKeys, maskSecrets, type ConfigKey } from './config/describe.js';
export { GatehouseError, ERROR_CODES, type ErrorCode } from './errors.js';
export type { SessionStore } from './session/store.js';
export type { SessionData, TokenSet } from './session/session.js';
export {
  defineExtension,
  type Extension,
  type Endpoint,
  type EndpointContext,
  type EndpointMethod,
  type Gathered,
  type PartError,
  type UpstreamClient,
  type UpstreamCallOptions,
  type UpstreamResponse,
} from './extensions/types.js';
export { UpstreamStatusError } from './extensions/upstream-client.js';
export type { View, Selector } from './extensions/views.js';
export type { User } from './security/authorization.js';
export type { AccessRule } from './config/schema.js';
