/**
 * Ending sessions from outside the browser (back-channel logout, session admin): each one is removed
 * from the store and its tokens are revoked at the provider, best effort.
 */
import type { Log } from '../http/exchange.js';
import type { Services } from '../services.js';

export async function endSessions(services: Services, keys: readonly string[], log: Log): Promise<number> {
  let ended = 0;
  await Promise.all(
    keys.map(async (key) => {
      const data = await services.sessions.read(key);
      if (!data) return;
      await services.sessions.discard(key);
      ended++;
      await services.tokens.revoke(data).catch((error: unknown) => {
        log.warn({ err: error, sub: data.sub }, 'token revocation failed; the session has ended anyway');
      });
    }),
  );
  return ended;
}
