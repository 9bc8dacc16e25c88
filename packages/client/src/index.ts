export {
  GatehouseClient,
  createGatehouseClient,
  type GatehouseClientOptions,
  type GatehouseUser,
  type JsonRequestInit,
  type LoginOptions,
  type SessionEndedDetail,
} from './client.js';
export { GatehouseError, HttpError, NetworkError, SessionEndedError, StepUpRequiredError } from './errors.js';
export type { SessionEndingSoonDetail, SessionWatchOptions } from './session-watch.js';
