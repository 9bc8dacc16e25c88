/** `gatehouse/cloudflare`: Gatehouse as a Cloudflare Worker (docs/deploy-cloudflare.md). */
export { createWorker, type GatehouseEnv, type WorkerOptions } from './worker.js';
export { GatehouseSessions } from './sessions-object.js';
