/**
 * Peer "lambda-cold": one cold start of Gatehouse's Lambda handler, as a new execution environment
 * would run it: a fresh `node` process imports the compiled `gatehouse/lambda` (dist, as npm
 * installs it: no bundle), builds the handler (configuration from GATEHOUSE_CONFIG, as the
 * handler reads it), and answers one function-URL event (payload 2.0, from BENCH_EVENT). The
 * handler builds Gatehouse on that first event: configuration check, the provider's discovery,
 * then the answer (here a signed-in API call through to the upstream).
 *
 * Prints one line, `BENCH_JSON {...}`, with the answer's status and size and three times in ms
 * since this process's time origin (its start): when this script began (Node's own start-up),
 * when the import had finished, when the answer was there. Then exits: a Lambda environment would
 * be frozen here, with undici's pool still open.
 */
const booted = performance.now();
const { createHandler } = await import('../../packages/gatehouse/dist/lambda/index.js');
const loaded = performance.now();
const handler = createHandler();
const result = await handler(JSON.parse(process.env.BENCH_EVENT ?? '{}'));
const answered = performance.now();
const body = Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8');
const report = {
  status: result.statusCode,
  bytes: body.length,
  booted,
  loaded,
  answered,
  ...(result.statusCode === 200 ? {} : { body: body.toString().slice(0, 300) }),
};
process.stdout.write(`BENCH_JSON ${JSON.stringify(report)}\n`, () => process.exit(0));
