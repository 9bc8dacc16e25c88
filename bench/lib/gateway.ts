/**
 * gw-nginx: Gatehouse's gateway mode as docs/gateway.md sets it up. nginx runs the documented
 * configuration (lib/nginx.ts, gatewayConfig) on the target's port: it proxies the API calls to the
 * upstream itself, after asking Gatehouse's gateway listener (auth_request), whose yes it caches
 * for max-age = gateway.cacheTtl - 1 s (5 s, the default: 4 s); everything else (sign-in) goes
 * through it to Gatehouse's public listener. Gatehouse: memory store, as gh-memory; its tokens
 * live 3600 s (run.ts), far past the cache's bound, so every yes is cacheable.
 *
 * Checked at every start, before any measurement: the upstream refuses what did not come the
 * gateway's way (so every measured 2xx proves the token arrived and the cookie did not), and nginx
 * refuses a call without the session or without the anti-forgery header with Gatehouse's error.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setupFor, startGatehouse } from './gatehouse.js';
import { signIn } from './login.js';
import { freePort, httpRequest, waitForHttp } from './net.js';
import { gatewayConfig, startNginx, VIA_GATEWAY } from './nginx.js';
import { tempDir, type Child } from './processes.js';
import type { Lab, RunningTarget, Slot } from './targets.js';
import { ORDER_PATH } from './upstream.js';

/** Gatehouse's default, as the docs' configuration has it. */
const CACHE_TTL = '5s';

export async function startGatewayTarget(
  lab: Lab,
  name: string,
  slot: Slot,
  extra: { cpuProfDir?: string; keyPrefix: string },
): Promise<RunningTarget> {
  await upstreamRefusesOthers(lab.upstream.url);
  const origin = `http://127.0.0.1:${slot.port}`;
  const [port, gatewayPort, counterPort] = [await freePort(), await freePort(), await freePort()];
  const secret = randomBytes(30).toString('base64url');
  const gatehouse = await startGatehouse(
    lab.dir,
    setupFor(name, 'memory', slot, lab, {
      port,
      // The routes name the URL the gateway proxies to (docs/gateway.md), here the checked one.
      upstream: `${lab.upstream.url}${VIA_GATEWAY}`,
      keyPrefix: extra.keyPrefix,
      cpuProfDir: extra.cpuProfDir,
      publicUrl: origin,
      gateway: { port: gatewayPort, secret, cacheTtl: CACHE_TTL },
      node: {
        args: ['--import', fileURLToPath(new URL('../peers/count-requests.js', import.meta.url))],
        env: { COUNT_REQUESTS_PORT: String(counterPort) },
      },
    }),
  );
  const dir = tempDir('nginx-gateway');
  const addresses = {
    gatehouse: `127.0.0.1:${port}`,
    gatehouseGateway: `127.0.0.1:${gatewayPort}`,
    api: new URL(lab.upstream.url).host,
    secret,
  };
  let nginx: Child | undefined;
  const stop = async () => {
    await nginx?.stop();
    await gatehouse.child.stop();
  };
  try {
    nginx = startNginx('nginx gateway', dir, gatewayConfig(dir, slot.port, addresses));
    // Gatehouse's public listener, through nginx's `location /`.
    await waitForHttp(`${origin}/api/auth/user`, { status: 401, child: nginx });
    const signInTarget = { origin, loginPath: '/api/auth/login', callbackPath: '/api/auth/callback' };
    const { cookie, browser } = await signIn(signInTarget);
    await refusesWithout(origin, { cookie, 'x-csrf': '1' });
    return {
      name,
      origin,
      apiPrefix: '/api',
      headers: { cookie, 'x-csrf': '1' },
      pids: [nginx.pid, gatehouse.child.pid],
      cpuParts: { nginx: [nginx.pid], gatehouse: [gatehouse.child.pid] },
      signIn: signInTarget,
      gatehouse: {
        adminUrl: gatehouse.adminUrl,
        keyPrefix: gatehouse.keyPrefix,
        sessionCookie: (await browser.cookie(`${origin}/`, '__Host-gatehouse')) ?? '',
        secrets: gatehouse.secrets,
      },
      authCalls: async () => {
        const counts = (await (await fetch(`http://127.0.0.1:${counterPort}/`)).json()) as Record<string, number>;
        return counts[gatewayPort] ?? 0;
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The upstream's own check is live: without the gateway's token, or with the browser's cookie, a 4xx. */
async function upstreamRefusesOthers(upstream: string): Promise<void> {
  const url = `${upstream}${VIA_GATEWAY}${ORDER_PATH}`;
  const jwt = 'Bearer aaa.bbb.ccc';
  for (const [headers, status] of [
    [{}, 401],
    [{ authorization: jwt, cookie: 'a=b' }, 400],
    [{ authorization: jwt, 'x-csrf': '1' }, 400],
  ] as const) {
    const response = await httpRequest(url, { headers });
    if (response.status !== status) {
      throw new Error(
        `upstream: GET ${url} with ${JSON.stringify(headers)} answered ${response.status}, not ${status}`,
      );
    }
  }
}

/**
 * A call without the session, or without X-CSRF, gets Gatehouse's refusal through nginx (rebuilt
 * by the docs' @gatehouse_refused), not the document: the gateway really asks, and a refusal is a
 * 4xx, which the load generator counts as a failure.
 */
async function refusesWithout(origin: string, headers: Record<string, string>): Promise<void> {
  const url = `${origin}/api${ORDER_PATH}`;
  for (const [dropped, status, code] of [
    ['cookie', 401, 'unauthenticated'],
    ['x-csrf', 403, 'csrf_header_missing'],
  ] as const) {
    const { [dropped]: _, ...rest } = headers;
    const response = await httpRequest(url, { headers: rest });
    const body = response.body.toString();
    if (response.status !== status || !body.includes(`"${code}"`)) {
      throw new Error(`gw-nginx: GET ${url} without ${dropped} answered ${response.status} ${body.slice(0, 200)}`);
    }
  }
}
