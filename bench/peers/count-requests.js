/**
 * Preloaded into gw-nginx's Gatehouse (`node --import`): counts the requests each of its HTTP
 * listeners receives, and answers GET http://127.0.0.1:$COUNT_REQUESTS_PORT/ with the counts by
 * listener port ({"9091": 12, ...}). The gateway listener logs nothing per request and has no
 * request metric, and the bench must know how many forward-auth calls nginx's cache let through to
 * Gatehouse: that is what says whether the cache is hit. A counter costs nothing next to a request;
 * the extra listener is idle while the load runs.
 */
import { subscribe } from 'node:diagnostics_channel';
import { createServer } from 'node:http';

const counts = {};
subscribe('http.server.request.start', ({ server }) => {
  const port = server.address()?.port;
  counts[port] = (counts[port] ?? 0) + 1;
});

const reporter = createServer((_request, response) => {
  response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(counts));
});
reporter.listen(Number(process.env.COUNT_REQUESTS_PORT), '127.0.0.1');
// Gatehouse decides when the process ends, not this listener.
reporter.unref();
