/**
 * The Worker's entry: Gatehouse with its configuration bundled beside it, and the Durable Object
 * class Cloudflare instantiates for session.store "durable-object" (wrangler.toml).
 */
import { createWorker, GatehouseSessions } from 'gatehouse/cloudflare';
import config from './gatehouse.yaml';

export default createWorker({ config });
export { GatehouseSessions };
