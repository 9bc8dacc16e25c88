/**
 * Cold starts: a fresh process, timed from spawn to its first answer. The Node server
 * (`gatehouse start`, as lib/gatehouse.ts runs it) is asked for the API call every 2 ms from
 * spawn on until it answers; it listens only once its provider's metadata is loaded, so its first
 * answer is the first one it can give. The Lambda handler (peers/lambda-cold.js) answers one
 * function-URL event in its own process and prints the answer, with its own times.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GATEHOUSE_BIN } from './gatehouse.js';
import { httpRequest } from './net.js';
import { startChild, type Child } from './processes.js';
import { ORDER_BYTES } from './upstream.js';

const POLL_MS = 2;
const TIMEOUT_MS = 30_000;
const LAMBDA_PEER = fileURLToPath(new URL('../peers/lambda-cold.js', import.meta.url));

export interface ServerStart {
  /** Spawn to the first answer, a 200 with the whole document. */
  totalMs: number;
  /** Requests refused (nothing listening yet) before it. */
  attempts: number;
}

export interface LambdaStart {
  /** Spawn to the answer printed by the process. */
  totalMs: number;
  /** In the process, from its time origin: Node's start-up, the import of dist/lambda, the first answer. */
  bootedMs: number;
  importMs: number;
  firstAnswerMs: number;
}

/** One `gatehouse start --config <file>`, asked for `url` until it answers; stopped afterwards. */
export async function serverColdStart(
  configFile: string,
  url: string,
  headers: Record<string, string>,
): Promise<ServerStart> {
  const started = performance.now();
  const child = startChild('gatehouse cold start', process.execPath, [GATEHOUSE_BIN, 'start', '--config', configFile]);
  try {
    for (let attempts = 0; ; attempts++) {
      exitedEarly(child);
      if (performance.now() - started > TIMEOUT_MS) throw new Error(`gatehouse did not answer ${url} in 30 s`);
      const response = await httpRequest(url, { headers }).catch(() => undefined);
      if (response) {
        const totalMs = performance.now() - started;
        if (response.status !== 200 || response.body.length !== ORDER_BYTES) {
          throw new Error(`gatehouse's first answer: ${response.status} ${response.body.toString().slice(0, 300)}`);
        }
        return { totalMs, attempts };
      }
      await sleep(POLL_MS);
    }
  } finally {
    await child.stop();
  }
}

/** One fresh process answering `event` with the Lambda handler, configured by `config` (GATEHOUSE_CONFIG). */
export async function lambdaColdStart(config: string, event: object): Promise<LambdaStart> {
  const started = performance.now();
  const child = startChild('lambda cold start', process.execPath, [LAMBDA_PEER], {
    env: { GATEHOUSE_CONFIG: config, BENCH_EVENT: JSON.stringify(event) },
    keepStdout: true,
  });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      const found = () => /BENCH_JSON (.+)\n/.exec(child.stdout())?.[1];
      child.process.stdout!.on('data', () => {
        const json = found();
        if (json) resolve(json);
      });
      void child.exited.then((code) => reject(new Error(`lambda-cold exited (${code}):\n${child.output()}`)));
      setTimeout(() => reject(new Error('lambda-cold did not answer in 30 s')), TIMEOUT_MS).unref();
    });
    const totalMs = performance.now() - started;
    const r = JSON.parse(line) as { status: number; bytes: number; booted: number; loaded: number; answered: number };
    if (r.status !== 200 || r.bytes !== ORDER_BYTES) throw new Error(`the Lambda handler's answer: ${line}`);
    return { totalMs, bootedMs: r.booted, importMs: r.loaded - r.booted, firstAnswerMs: r.answered - r.loaded };
  } finally {
    await child.stop();
  }
}

/** The import of `module` (a file path) alone, in a fresh `node` process, in ms. */
export async function importColdStart(module: string): Promise<number> {
  const script =
    `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(module).href)}); ` +
    'process.stdout.write(`BENCH_MS ${performance.now() - t}\\n`, () => process.exit(0));';
  const child = startChild('import cold start', process.execPath, ['--input-type=module', '-e', script], {
    keepStdout: true,
  });
  const status = await child.exited;
  const ms = /BENCH_MS (\S+)/.exec(child.stdout())?.[1];
  if (status !== 0 || !ms) throw new Error(`import of ${module} failed (${status}):\n${child.output()}`);
  return Number(ms);
}

/** A function URL's event (payload 2.0) for a GET, as packages/gatehouse/test/support/lambda.ts makes them. */
export function functionUrlEvent(origin: string, path: string, headers: Record<string, string>): object {
  const { cookie, ...rest } = headers;
  const host = new URL(origin).host;
  return {
    version: '2.0',
    rawPath: path,
    rawQueryString: '',
    cookies: cookie?.split('; '),
    headers: { host, ...rest },
    isBase64Encoded: false,
    requestContext: { domainName: host, http: { method: 'GET', sourceIp: '127.0.0.1' } },
  };
}

function exitedEarly(child: Child): void {
  if (child.process.exitCode !== null) {
    throw new Error(`${child.name} exited (${child.process.exitCode}):\n${child.output()}`);
  }
}
