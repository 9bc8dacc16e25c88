/**
 * Real Redis for tests. The machine's Redis (REDIS_URL, default redis://127.0.0.1:6379) serves
 * most tests, each under its own key prefix. Tests that stop and restart Redis get a private
 * redis-server on a free port. Without Redis the tests are skipped, loudly, unless REQUIRE_REDIS=1
 * (CI), which makes them fail instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis, type RedisOptions } from 'ioredis';
import { freePort } from './stack.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Undefined when Redis answers; otherwise why the Redis tests must be skipped. Throws under REQUIRE_REDIS=1. */
export async function redisUnavailable(): Promise<string | undefined> {
  const client = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 1000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => {}); // reported below
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    const reason = `Redis at ${REDIS_URL} is not reachable (${(error as Error).message})`;
    if (process.env.REQUIRE_REDIS === '1') throw new Error(`${reason}, and REQUIRE_REDIS=1`);
    process.stderr.write(`SKIPPING Redis tests: ${reason}. Set REQUIRE_REDIS=1 to make this a failure.\n`);
    return reason;
  } finally {
    client.disconnect();
  }
}

/** A key prefix of its own for one test's data. */
export const testPrefix = () => `gatehouse-test:${randomUUID()}:`;

/** Every key under a prefix with its whole content, as text, for scanning. */
export async function dumpRedis(url: string, prefix: string): Promise<Map<string, string>> {
  const client = new Redis(url);
  try {
    const keys = await client.keys(`${prefix}*`);
    const dump = new Map<string, string>();
    for (const key of keys) {
      const type = await client.type(key);
      const content =
        type === 'hash'
          ? Object.entries(await client.hgetallBuffer(key)).map(([f, v]) => `${f}=${v.toString('latin1')}`)
          : type === 'zset'
            ? await client.zrange(key, 0, -1)
            : [((await client.getBuffer(key)) ?? Buffer.alloc(0)).toString('latin1')];
      dump.set(key, content.join('\n'));
    }
    return dump;
  } finally {
    client.disconnect();
  }
}

/** The arguments every test server shares: loopback only, no snapshots. */
export const baseRedisArgs = (port: number) => ['--port', String(port), '--bind', '127.0.0.1', '--save', ''];

/** Starts `redis-server` with these arguments and waits until `probeUrl` answers PING. */
export async function spawnRedis(args: string[], probeUrl: string, probe: RedisOptions = {}): Promise<ChildProcess> {
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    const client = new Redis(probeUrl, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      ...probe,
    });
    client.on('error', () => {}); // not up yet: try again
    try {
      await client.connect();
      await client.ping();
      return child;
    } catch {
      await sleep(50);
    } finally {
      client.disconnect();
    }
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server ${args.join(' ')} did not start`);
}

/** Stops a redis-server child (SIGTERM: it saves its append-only file first) and waits for it. */
export async function stopRedis(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGCONT');
  child.kill('SIGTERM');
  await exited;
}

export const tempDir = () => mkdtempSync(join(tmpdir(), 'gatehouse-redis-'));

export interface PrivateRedis {
  url: string;
  /** Stops the server (data is kept in its append-only file). */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same data. */
  start(): Promise<void>;
  /** Freezes the process (connections hang) / lets it run again. */
  freeze(): void;
  thaw(): void;
  close(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  const dir = tempDir();
  const url = `redis://127.0.0.1:${port}`;
  const args = [...baseRedisArgs(port), '--appendonly', 'yes', '--appendfsync', 'always', '--dir', dir];
  let child: ChildProcess | undefined;
  const start = async () => {
    child = await spawnRedis(args, url);
  };
  await start();
  return {
    url,
    start,
    stop: () => stopRedis(child),
    freeze: () => child?.kill('SIGSTOP'),
    thaw: () => child?.kill('SIGCONT'),
    close: () => stopRedis(child),
  };
}

/** One command Redis received, as MONITOR reports it. */
export interface MonitoredCommand {
  /** The sending client's address. */
  source: string;
  /** Command name (lower case) and arguments. */
  args: string[];
}

/**
 * Watches every command Redis receives (MONITOR) on a socket of its own. Not ioredis's monitor():
 * when MONITOR lines arrive in the same packet as its +OK, ioredis loses track of its replies
 * ("Command queue state error") and the watcher dies.
 */
export async function monitorRedis(
  url: string,
  onCommand: (command: MonitoredCommand) => void,
): Promise<{ stop(): void }> {
  const { hostname, port } = new URL(url);
  const socket = connect(Number(port || 6379), hostname);
  await once(socket, 'connect');
  let buffered = '';
  const started = new Promise<void>((resolve) => {
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      let end: number;
      while ((end = buffered.indexOf('\r\n')) !== -1) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (line === '+OK') resolve();
        // +1796597598.854776 [0 127.0.0.1:37656] "hmget" "key" "d"
        const match = /^\+[\d.]+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
        if (!match) continue;
        const args = [...match[2]!.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!.replace(/\\(.)/g, '$1'));
        onCommand({ source: match[1]!, args: [args[0]!.toLowerCase(), ...args.slice(1)] });
      }
    });
  });
  socket.write('MONITOR\r\n');
  await started;
  return { stop: () => socket.destroy() };
}
