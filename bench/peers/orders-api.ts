/**
 * The demo's orders API as an upstream that checks every access token (signature, audience,
 * expiry) and answers 401 to an expired one: the expiry storm's proof that no request went out
 * with a dead token. Not a measured peer (run by tsx, which is fine for a helper).
 */
import { startOrdersApi } from '../../examples/demo/src/orders-api.js';

const api = await startOrdersApi({
  issuer: process.env.ISSUER!,
  audience: process.env.AUDIENCE!,
  port: Number(process.env.PORT),
});
process.stdout.write(`orders api at ${api.url}\n`);
const stop = () => void api.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
