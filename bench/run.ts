/**
 * `npm run bench`: Gatehouse side by side with nginx, a bare Node proxy and the common Node BFF,
 * on one machine, in one run. See bench/README.md for what is measured and how.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GATEHOUSE_BIN, supportsWorkers } from './lib/gatehouse.js';
import { startIdp } from './lib/idp.js';
import { pickTool, toolVersion } from './lib/load.js';
import { parseOptions, USAGE, type Options, type Scenario } from './lib/options.js';
import { cleanup, installExitHandlers, interrupted, onCleanup, tempDir } from './lib/processes.js';
import { deleteKeys, REDIS_URL, redisReachable } from './lib/redis.js';
import { derivedProvider } from './lib/derived.js';
import { fapi2Provider } from './lib/profiles.js';
import { check, machineInfo, newResults, writeResults, type Results } from './lib/report.js';
import { allocateSlots, idpClients, type Lab } from './lib/targets.js';
import { startUpstream } from './lib/upstream.js';
import { edgeChecks } from './scenarios/edge.js';
import { expiry } from './scenarios/expiry.js';
import { gateway1kChecks, gatewayChecks } from './scenarios/gateway.js';
import { coldstart } from './scenarios/coldstart.js';
import { loginRate } from './scenarios/login.js';
import { profile } from './scenarios/profile.js';
import { sessions } from './scenarios/sessions.js';
import { soak } from './scenarios/soak.js';
import { DEFINITIONS, get1kChecks, throughput, tokens1kChecks } from './scenarios/throughput.js';

const SCENARIO_RUNNERS: Record<Scenario, (lab: Lab, results: Results) => Promise<void>> = {
  get1k: async (lab, results) => {
    const rows = await throughput(lab, results, DEFINITIONS.get1k);
    get1kChecks(results, rows);
    gatewayChecks(results, rows);
  },
  gateway1k: async (lab, results) => gateway1kChecks(results, await throughput(lab, results, DEFINITIONS.gateway1k)),
  tokens1k: async (lab, results) => tokens1kChecks(results, await throughput(lab, results, DEFINITIONS.tokens1k)),
  stream64k: async (lab, results) => void (await throughput(lab, results, DEFINITIONS.stream64k)),
  upload1m: async (lab, results) => void (await throughput(lab, results, DEFINITIONS.upload1m)),
  sessions100k: sessions,
  expiry,
  login: loginRate,
  edge: async (lab, results) => edgeChecks(results, await throughput(lab, results, DEFINITIONS.edge)),
  coldstart,
  soak,
  profile,
};

async function main(argv: string[]): Promise<number> {
  let options: Options | undefined;
  try {
    options = parseOptions(argv);
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (!options) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!existsSync(fileURLToPath(new URL('../packages/gatehouse/dist/cli.js', import.meta.url)))) {
    process.stderr.write('bench: Gatehouse is not built; run `npm run bench` (it builds first) or `npm run build`\n');
    return 1;
  }
  const results = newResults(`npm run bench${argv.length ? ` -- ${argv.join(' ')}` : ''}`);
  const resultsDir = options.resultsDir;
  installExitHandlers((signal) => {
    // A long run cut short still leaves what it measured.
    results.notes.push(`interrupted by ${signal}: the scenarios after the last one recorded did not run`);
    process.stderr.write(`bench: partial results: ${writeResults(resultsDir, results)}\n`);
  });
  const loadTool = pickTool(options.loadgen);
  if (loadTool === 'autocannon' && !options.loadgen) {
    results.notes.push('wrk is not installed (apt-get install wrk): autocannon drives the load');
    process.stdout.write('bench: wrk is not installed (apt-get install wrk); using autocannon\n');
  }
  const redisAvailable = await redisReachable(REDIS_URL);
  const runId = randomBytes(4).toString('hex');
  const dir = tempDir('run');
  const upstream = await startUpstream(dir, options.upstream);
  const slots = await allocateSlots();
  const tokens = { accessTokenTtlSeconds: 3600, rotateRefreshTokens: true };
  // With token exchange and one more resource server, for gh-exchange and gh-resource (lib/derived.ts).
  const idp = await startIdp({ clients: idpClients(slots), ...tokens, ...derivedProvider() });
  onCleanup(() => idp.close());
  const fapi2Idp = await startIdp({ clients: idpClients(slots, true), ...tokens, ...fapi2Provider() });
  onCleanup(() => fapi2Idp.close());
  if (redisAvailable) onCleanup(async () => void (await deleteKeys(REDIS_URL, `gatehouse-bench:${runId}:`)));
  const lab: Lab = {
    options,
    dir,
    upstream,
    idp,
    fapi2Idp,
    redisUrl: REDIS_URL,
    redisAvailable,
    runId,
    loadTool,
    workers: supportsWorkers(),
    slots,
  };
  results.machine = machineInfo({ upstream: upstream.version, loadGenerator: toolVersion(loadTool) });
  results.settings = {
    ...options,
    loadTool,
    upstream: upstream.kind,
    workersFlag: lab.workers,
    gatehouse: GATEHOUSE_BIN,
  };
  process.stdout.write(
    `bench: ${String(results.machine.cpu)}, ${String(results.machine.cores)} cores, node ${process.version}, ` +
      `upstream ${upstream.version}, load ${String(results.machine.loadGenerator)}, ` +
      `${options.connections} connections, throughput in ${options.repeat} slice(s) of ${options.slice} s per target, ` +
      `${options.duration} s per other measurement, ${options.warmup} s warm-up\n`,
  );

  for (const scenario of options.scenarios) {
    process.stdout.write(`\n=== ${scenario} ===\n`);
    try {
      await SCENARIO_RUNNERS[scenario](lab, results);
    } catch (error) {
      if (interrupted()) return 130;
      // One broken scenario must not throw away the others' numbers.
      process.stderr.write(`bench: ${scenario} failed: ${(error as Error).stack ?? String(error)}\n`);
      check(results, scenario, `${scenario} ran`, 'completes', (error as Error).message.split('\n', 1)[0]!, false);
    }
  }

  if (interrupted()) return 130;
  const failed = results.checks.filter((c) => !c.pass);
  process.stdout.write(`\n=== summary: ${results.checks.length - failed.length} PASS, ${failed.length} FAIL ===\n`);
  for (const c of results.checks) {
    process.stdout.write(
      `${c.pass ? 'PASS' : 'FAIL'}  [${c.scenario}] ${c.name}: ${c.actual} (target ${c.expected})\n`,
    );
  }
  const file = writeResults(options.resultsDir, results);
  process.stdout.write(`\nresults: ${file}\n`);
  return failed.length === 0 ? 0 : 1;
}

main(process.argv.slice(2))
  .then(async (code) => {
    await cleanup();
    process.exit(code);
  })
  .catch(async (error: unknown) => {
    process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
    await cleanup();
    process.exit(1);
  });
