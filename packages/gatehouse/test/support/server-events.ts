/** A client of Gatehouse's server-sent events (GET /api/auth/events) for tests: events as they arrive. */
import assert from 'node:assert/strict';

export interface ServerEvent {
  event: string;
  data: Record<string, unknown>;
  at: number;
}

/** Opens the stream with the session's cookie and the anti-forgery header, and reads its events as they arrive. */
export async function listen(
  url: string,
  cookie: string,
): Promise<{ events: ServerEvent[]; next(name: string, timeoutMs: number): Promise<ServerEvent>; close(): void }> {
  const abort = new AbortController();
  const response = await fetch(url, {
    headers: { cookie, 'x-csrf': '1', 'sec-fetch-site': 'same-origin' },
    signal: abort.signal,
  });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  assert.equal(response.headers.get('cache-control'), 'no-store');
  const events: ServerEvent[] = [];
  const waiters: (() => void)[] = [];
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = /^event: (.+)$/m.exec(block)?.[1];
          const data = /^data: (.+)$/m.exec(block)?.[1];
          if (event) events.push({ event, data: JSON.parse(data ?? '{}'), at: Date.now() });
          waiters.splice(0).forEach((wake) => wake());
        }
      }
    } catch {
      // closed by the test
    }
    events.push({ event: '(end of stream)', data: {}, at: Date.now() });
    waiters.splice(0).forEach((wake) => wake());
  })();
  const next = async (name: string, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = events.find((e) => e.event === name);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no "${name}" event within ${timeoutMs} ms: ${events.map((e) => e.event).join(', ')}`);
      await new Promise<void>((wake) => {
        waiters.push(wake);
        setTimeout(wake, 100);
      });
    }
  };
  return { events, next, close: () => abort.abort() };
}
