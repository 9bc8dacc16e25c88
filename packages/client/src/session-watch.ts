/**
 * Following the session from the browser: Gatehouse's `GET /auth/events` stream (server-sent
 * events, read with fetch() so the anti-forgery header goes along), turned into events on the
 * client; when streaming fails repeatedly, polling `/auth/user?slide=false` instead. Neither counts
 * as activity: watching never keeps an idle session alive.
 */

/** `ending-soon`: the session ends at `at` unless the user is active (`idle`), or regardless (`absolute`). */
export interface SessionEndingSoonDetail {
  reason: 'idle' | 'absolute';
  at: Date;
}

export interface SessionWatchOptions {
  /** Seconds between polls when streaming is not possible. Default 15. */
  pollSeconds?: number;
  /** In polling mode, how long before the deadline `sessionendingsoon` fires. Default 120 s. */
  endingSoonSeconds?: number;
}

/** What the watcher needs of the client. */
export interface WatchedClient {
  readonly basePath: string;
  /** A same-origin call with the session cookie and the anti-forgery header. */
  request(path: string, init: RequestInit): Promise<Response>;
  emit(type: string, detail: unknown): void;
}

const STREAM_FAILURES_BEFORE_POLLING = 3;

/** Starts watching; returns the function that stops it. */
export function watchSession(client: WatchedClient, options: SessionWatchOptions = {}): () => void {
  const abort = new AbortController();
  let failures = 0;
  let lastSub: string | undefined;
  let warnedFor = 0;
  let previousClaims: string | undefined;

  const ended = () => {
    client.emit('sessionended', { code: 'session_ended' });
    abort.abort();
  };
  const onEvent = (event: string, data: Record<string, unknown>) => {
    if (event === 'ended') return ended();
    if (event === 'ending-soon') {
      client.emit('sessionendingsoon', { reason: data.reason, at: new Date(String(data.at)) });
    } else if (event === 'user-changed') client.emit('userchanged', data);
    else if (event === 'session') client.emit('sessionupdate', data);
  };

  const stream = async (): Promise<void> => {
    const response = await client.request(`${client.basePath}/auth/events`, { signal: abort.signal });
    if (response.status === 401) return ended();
    if (!response.ok || !response.body) throw new Error(`events: ${response.status}`);
    failures = 0;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event) onEvent(event, data ? (JSON.parse(data) as Record<string, unknown>) : {});
      }
    }
  };

  const poll = async (): Promise<void> => {
    const response = await client.request(`${client.basePath}/auth/user?slide=false`, { signal: abort.signal });
    if (response.status === 401) return ended();
    if (!response.ok) return;
    const user = (await response.json()) as {
      sub: string;
      gatehouse: { sessionExpiresAt: string; absoluteExpiresAt: string };
    };
    const { gatehouse, ...claims } = user;
    const serialized = JSON.stringify(claims);
    if (previousClaims !== undefined && serialized !== previousClaims && user.sub === lastSub) {
      client.emit('userchanged', claims);
    }
    previousClaims = serialized;
    lastSub = user.sub;
    const idle = Date.parse(gatehouse.sessionExpiresAt);
    const absolute = Date.parse(gatehouse.absoluteExpiresAt);
    const soonest = Math.min(idle, absolute);
    client.emit('sessionupdate', gatehouse);
    if (soonest - Date.now() <= (options.endingSoonSeconds ?? 120) * 1000 && warnedFor !== soonest) {
      warnedFor = soonest;
      client.emit('sessionendingsoon', { reason: idle <= absolute ? 'idle' : 'absolute', at: new Date(soonest) });
    }
  };

  const wait = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      abort.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });

  void (async () => {
    while (!abort.signal.aborted) {
      const streaming = failures < STREAM_FAILURES_BEFORE_POLLING && typeof TextDecoderStream !== 'undefined';
      try {
        if (streaming) await stream();
        else await poll();
      } catch {
        if (abort.signal.aborted) return;
        if (streaming) failures++;
      }
      if (abort.signal.aborted) return;
      // A stream that ended (a proxy's timeout) is opened again a second later; failures back off.
      const streamPause = failures === 0 ? 1000 : Math.min(1000 * 2 ** failures, 30_000);
      await wait(streaming ? streamPause : (options.pollSeconds ?? 15) * 1000);
    }
  })();
  return () => abort.abort();
}
