/**
 * `gatehouse start`: one process, or with `--workers N` a primary and N workers (node:cluster) that
 * share the public port, so one machine's cores all serve. Workers keep nothing that another
 * worker needs: sessions and the refresh lock live in Redis (or the cookie), so a request may land
 * on any of them. The primary serves the admin listener, with every worker's metrics added up, and
 * replaces a worker that dies.
 */
import cluster, { type Worker } from 'node:cluster';
import type { GatehouseConfig } from './config/load.js';
import { createGatehouse, type Gatehouse } from './server.js';

/** Starting again at once would spin if something breaks every worker at start. */
const RESTART_DELAY_MS = 1_000;

export async function start(config: GatehouseConfig, workers: number): Promise<number> {
  if (workers <= 1) return serve(await createGatehouse(config));
  if (cluster.isWorker) {
    const code = await serve(await createGatehouse(config, { cluster: 'worker' }));
    cluster.worker!.disconnect(); // the channel to the primary would keep the process alive
    return code;
  }
  return supervise(config, workers);
}

/** Serves until SIGTERM or SIGINT, then drains; resolves with the exit code. */
async function serve(gatehouse: Gatehouse): Promise<number> {
  const { url, adminUrl } = await gatehouse.listen();
  if (cluster.isWorker) process.send!({ type: 'listening', url });
  else gatehouse.app.log.info({ url, adminUrl }, 'gatehouse listening');
  return untilStopped(gatehouse, async () => gatehouse.close());
}

async function supervise(config: GatehouseConfig, count: number): Promise<number> {
  const gatehouse = await createGatehouse(config, { cluster: 'primary' });
  const log = gatehouse.app.log;
  let stopping = false;
  if (config.rateLimit.enabled && config.rateLimit.store === 'memory') {
    log.warn(
      `rate limits are counted by each worker: up to ${count}x the configured rates; set rateLimit.store "redis"`,
    );
  }

  const url = await new Promise<string | undefined>((resolve) => {
    let listening = 0;
    const onMessage = (_worker: Worker, message: { type?: string; url?: string }) => {
      if (message?.type === 'listening' && ++listening === count) {
        cluster.off('exit', onEarlyExit);
        resolve(message.url);
      }
    };
    // A worker that cannot start (port taken, store misconfigured) fails the whole start.
    const onEarlyExit = (worker: Worker, code: number | null) => {
      log.error({ pid: worker.process.pid, code }, 'a worker failed to start');
      cluster.off('message', onMessage);
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM');
      resolve(undefined);
    };
    cluster.on('message', onMessage);
    cluster.on('exit', onEarlyExit);
    for (let i = 0; i < count; i++) cluster.fork();
  });
  if (url === undefined) {
    await gatehouse.close();
    return 1;
  }

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    log.error({ pid: worker.process.pid, code, signal }, 'worker exited; starting another');
    setTimeout(() => cluster.fork(), RESTART_DELAY_MS);
  });
  const { adminUrl } = await gatehouse.listen();
  log.info({ url, adminUrl, workers: count }, 'gatehouse listening');

  return untilStopped(gatehouse, async () => {
    stopping = true;
    const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
    const exits = workers.map(
      (worker) => new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code))),
    );
    for (const worker of workers) worker.process.kill('SIGTERM');
    const codes = await Promise.all([...exits, gatehouse.close().then(() => 0)]);
    if (codes.some((code) => code !== 0)) throw new Error(`workers exited with ${codes.join(', ')}`);
  });
}

/**
 * Waits for SIGTERM or SIGINT, then stops (stop accepting, let in-flight requests finish); never
 * hangs a deployment past the shutdown timeout (plus a second for a primary's workers).
 */
function untilStopped(gatehouse: Gatehouse, stop: () => Promise<void>): Promise<number> {
  const log = gatehouse.app.log;
  return new Promise<number>((resolve) => {
    const onSignal = (signal: string) => {
      log.info({ signal }, 'shutting down');
      const grace = gatehouse.config.server.shutdownTimeout + (cluster.isPrimary ? 1_000 : 0);
      setTimeout(() => {
        log.warn('in-flight requests did not finish in time; exiting');
        process.exit(1);
      }, grace).unref();
      stop().then(
        () => {
          log.info('shut down cleanly');
          resolve(0);
        },
        (error: unknown) => {
          log.error({ err: error }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
}
