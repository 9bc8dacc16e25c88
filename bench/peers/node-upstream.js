/**
 * The fallback upstream when nginx is not installed: the same three endpoints as the nginx one
 * (see ../lib/upstream.ts), from memory. Plain JavaScript, run by plain node.
 * GET /__uploads reports (and resets) the uploads received, for the upload scenario's check.
 * Under VIA_GATEWAY, the same documents for gw-nginx's calls, which must carry a Bearer JWT and
 * none of the browser's credentials, as the nginx upstream checks them (../lib/nginx.ts).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { join } from 'node:path';

const www = process.env.WWW;
const order = readFileSync(join(www, 'orders', '1'));
const big = readFileSync(join(www, 'big'));
const json = { 'content-type': 'application/json' };
const viaGateway = `${process.env.VIA_GATEWAY}/`;
let uploads = { count: 0, minBytes: Infinity };

const server = createServer((req, res) => {
  if (req.url.startsWith(viaGateway)) {
    if (!/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/.test(req.headers.authorization ?? '')) {
      return res.writeHead(401, json).end('{"error":"no token"}');
    }
    if (req.headers.cookie || req.headers['x-csrf']) {
      return res.writeHead(400, json).end('{"error":"browser credentials reached the API"}');
    }
    req.url = req.url.slice(viaGateway.length - 1);
  }
  if (req.method === 'GET' && req.url === '/orders/1') return res.writeHead(200, json).end(order);
  if (req.method === 'GET' && req.url === '/big') return res.writeHead(200, json).end(big);
  if (req.method === 'GET' && req.url === '/__uploads') {
    const report = { count: uploads.count, minBytes: uploads.count ? uploads.minBytes : 0 };
    uploads = { count: 0, minBytes: Infinity };
    return res.writeHead(200, json).end(JSON.stringify(report));
  }
  if (req.method === 'POST' && req.url === '/upload') {
    let received = 0;
    req.on('data', (chunk) => (received += chunk.length));
    req.on('end', () => {
      uploads.count++;
      uploads.minBytes = Math.min(uploads.minBytes, received);
      res.writeHead(200, json).end('{"ok":true}');
    });
    return;
  }
  res.writeHead(404, json).end('{"error":"not_found"}');
});
server.keepAliveTimeout = 300_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
