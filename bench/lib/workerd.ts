/**
 * gh-workerd: Gatehouse as a Cloudflare Worker in real workerd, started by the tests' own harness
 * (packages/gatehouse/test/support/workerd.ts: the Worker bundled from src/cloudflare with esbuild
 * as wrangler would, its configuration in GATEHOUSE_CONFIG, sessions in GatehouseSessions Durable
 * Objects with in-memory storage, outbound fetch() over this machine's network). The configuration
 * is gh-memory's document with what a Worker refuses taken out (the listener and admin settings)
 * and `session.store: durable-object`: the same provider, client settings, upstream, routes, log
 * level, rate limits off.
 *
 * The harness starts one workerd process serving two instances of the Worker (the second shares
 * the Durable Objects; the bench never calls it) and does not say which process it started: its
 * pid, for CPU accounting and for the exit hook, is the runner's new child whose name is workerd.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { startWorker } from '../../packages/gatehouse/test/support/workerd.js';
import { gatehouseConfig, setupFor } from './gatehouse.js';
import { signIn } from './login.js';
import { onCleanup } from './processes.js';
import type { Lab, RunningTarget, Slot } from './targets.js';

export async function startWorkerdTarget(lab: Lab, name: string, slot: Slot): Promise<RunningTarget> {
  const origin = `http://127.0.0.1:${slot.port}`;
  const secrets = [randomBytes(32).toString('base64url')];
  const node = gatehouseConfig(setupFor(name, 'memory', slot, lab), secrets) as {
    server: unknown;
    admin: unknown;
    session: object;
  };
  const { server: _server, admin: _admin, ...rest } = node;
  const config = { ...rest, session: { store: 'durable-object', secrets } };

  const before = workerdChildren();
  // The admin port is free here (a Worker has no admin listener): the harness's second instance takes it.
  const worker = await startWorker({ port: slot.port, peerPort: slot.adminPort, config });
  const pid = [...workerdChildren()].find((p) => !before.has(p));
  if (pid === undefined)
    process.stdout.write(`(${name}: workerd's process not found: its CPU is counted as "others")\n`);
  const forget = onCleanup(() => worker.stop());
  const killOnExit = () => pid !== undefined && tryKill(pid);
  process.on('exit', killOnExit);
  const stop = async () => {
    forget();
    process.off('exit', killOnExit);
    await worker.stop();
  };
  try {
    const signInTarget = { origin, loginPath: '/api/auth/login', callbackPath: '/api/auth/callback' };
    const { cookie } = await signIn(signInTarget);
    return {
      name,
      origin,
      apiPrefix: '/api',
      headers: { cookie, 'x-csrf': '1' },
      pids: pid === undefined ? [] : [pid],
      signIn: signInTarget,
      runtime: 'workerd',
      stop,
    };
  } catch (error) {
    const output = worker.output().slice(-2000);
    await stop();
    throw new Error(`${name}: ${(error as Error).message}\nworkerd output:\n${output}`, { cause: error });
  }
}

/** The runner's child processes named workerd. */
function workerdChildren(): Set<number> {
  const pids = new Set<number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (comm === 'workerd' && ppid === process.pid) pids.add(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return pids;
}

function tryKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
