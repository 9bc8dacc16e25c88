/**
 * Bytes on a bare TCP socket, for requests no HTTP client would send (smuggling attempts, broken
 * framing, absolute-form request targets). Resolves with the status line's code, or 'closed' when
 * the server hung up without an answer.
 */
import { connect } from 'node:net';

export interface RawAnswer {
  status: number | 'closed';
  text: string;
}

export function sendRaw(origin: string, bytes: string | Buffer, timeoutMs = 3000): Promise<RawAnswer> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let text = '';
    const finish = () => {
      socket.destroy();
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ status: match ? Number(match[1]) : 'closed', text });
    };
    socket.setTimeout(timeoutMs, finish);
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      // One answer is all we need; keep-alive would otherwise hold the socket open.
      if (/\r\n\r\n/.test(text) && /content-length: (\d+)/i.test(text)) {
        const length = Number(/content-length: (\d+)/i.exec(text)![1]);
        if (text.length - text.indexOf('\r\n\r\n') - 4 >= length) finish();
      }
    });
    socket.on('end', finish);
    socket.on('error', finish);
  });
}
