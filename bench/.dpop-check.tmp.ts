// Throwaway (deleted after use): does each proxied call carry Authorization: DPoP + a fresh DPoP proof?
import { createServer } from 'node:http';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { startIdp } from './lib/idp.js';
import { fapi2Provider } from './lib/profiles.js';
import { allocateSlots, idpClients, startTarget, type Lab } from './lib/targets.js';
import { ORDER_BYTES, orderDocument } from './lib/upstream.js';
import { cleanup, tempDir } from './lib/processes.js';
import { httpRequest } from './lib/net.js';

const seen: Record<string, string | undefined>[] = [];
const body = orderDocument(ORDER_BYTES);
const server = createServer((req, res) => {
  seen.push({ url: req.url, authorization: req.headers.authorization, dpop: req.headers.dpop as string | undefined });
  res.writeHead(200, { 'content-type': 'application/json' }).end(body);
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
const slots = await allocateSlots();
const tokens = { accessTokenTtlSeconds: 3600, rotateRefreshTokens: true };
const idp = await startIdp({ clients: idpClients(slots), ...tokens });
const fapi2Idp = await startIdp({ clients: idpClients(slots, true), ...tokens, ...fapi2Provider() });
const lab = { dir: tempDir('check'), upstream: { url }, idp, fapi2Idp, slots, redisUrl: '', runId: 'x' } as unknown as Lab;
try {
  for (const name of ['gh-memory', 'gh-dpop', 'gh-fapi2'] as const) {
    const t = await startTarget(lab, name);
    seen.length = 0;
    for (let i = 0; i < 2; i++) await httpRequest(`${t.origin}/api/orders/1`, { headers: t.headers });
    for (const s of seen) {
      const [scheme, token] = (s.authorization ?? '').split(' ');
      const proof = s.dpop ? { h: decodeProtectedHeader(s.dpop), p: decodeJwt(s.dpop) } : undefined;
      console.log(name, s.url, scheme, token ? Object.keys(decodeJwt(token).cnf ?? {}) : '-', token?.length, s.dpop?.length,
        proof ? JSON.stringify({ typ: proof.h.typ, alg: proof.h.alg, htm: proof.p.htm, htu: proof.p.htu, jti: proof.p.jti, ath: !!proof.p.ath }) : 'no proof');
    }
    await t.stop();
  }
} finally {
  await idp.close(); await fapi2Idp.close(); server.close(); await cleanup();
}
