/**
 * The command line:
 *   gatehouse start --config <file>   run Gatehouse
 *   gatehouse check --config <file>   validate and print the effective configuration, secrets masked
 *   gatehouse health [--config <file>] ask the running instance's admin listener (container HEALTHCHECK)
 * Without --config, the configuration comes from the environment (containers): GATEHOUSE_CONFIG_FILE
 * names a file, or GATEHOUSE_CONFIG holds the document itself.
 * Exit codes: 0 success, 1 invalid configuration or failed start, 2 bad usage.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { maskSecrets } from './config/describe.js';
import { ConfigError, loadConfigFile, loadConfigText, type GatehouseConfig } from './config/load.js';
import { loadExtensions } from './extensions/load.js';
import { start } from './run.js';

const USAGE = `Usage:
  gatehouse start --config <file>   Start Gatehouse with a JSON or YAML configuration
          [--workers N|auto]        ... in N processes sharing the port (auto: one per CPU)
  gatehouse check --config <file>   Validate a configuration and print it with secrets masked
  gatehouse health --config <file>  Exit 0 if the instance of this configuration answers /healthz
  gatehouse --version

Without --config: the file named by GATEHOUSE_CONFIG_FILE, or the YAML/JSON document in
GATEHOUSE_CONFIG. \${NAME} references in the configuration are read from the environment.
`;

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        workers: { type: 'string', short: 'w' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    process.stderr.write(`gatehouse: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.version) {
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    process.stdout.write(`${pkg.version}\n`);
    return 0;
  }
  const command = positionals[0];
  if (values.help || !command) {
    process.stdout.write(USAGE);
    return values.help ? 0 : 2;
  }
  if (!['start', 'check', 'health'].includes(command) || positionals.length > 1) {
    process.stderr.write(`gatehouse: unknown command "${positionals.join(' ')}"\n\n${USAGE}`);
    return 2;
  }
  const workers = workerCount(values.workers);
  if (workers === undefined) {
    process.stderr.write(`gatehouse: --workers must be a whole number from 1 to 64, or "auto"\n`);
    return 2;
  }
  const env = process.env;
  const file = values.config ?? env.GATEHOUSE_CONFIG_FILE;
  if (!file && !env.GATEHOUSE_CONFIG) {
    process.stderr.write(
      `gatehouse: no configuration: use --config <file>, GATEHOUSE_CONFIG_FILE or GATEHOUSE_CONFIG\n\n${USAGE}`,
    );
    return 2;
  }

  let config: GatehouseConfig;
  try {
    config = file ? loadConfigFile(file) : loadConfigText(env.GATEHOUSE_CONFIG!, { source: 'GATEHOUSE_CONFIG' });
    // Extension modules are part of the configuration: check them before anything starts.
    if (command !== 'health') await loadExtensions(config);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`gatehouse: ${error.message}\n`);
    return 1;
  }

  if (command === 'health') return health(config);

  if (workers > 1 && config.session.store === 'memory') {
    process.stderr.write(
      'gatehouse: --workers needs sessions every worker can see: session.store "redis" or "cookie", not "memory"\n',
    );
    return 1;
  }

  if (command === 'check') {
    process.stdout.write(`${JSON.stringify(maskSecrets({ ...config }), null, 2)}\n`);
    process.stderr.write('gatehouse: configuration is valid (durations are shown in milliseconds)\n');
    return 0;
  }

  return start(config, workers);
}

/** For a container HEALTHCHECK: the admin listener of the configuration's instance, on this host. */
async function health(config: GatehouseConfig): Promise<number> {
  if (!config.admin.enabled) {
    process.stderr.write('gatehouse: health needs the admin listener (admin.enabled)\n');
    return 1;
  }
  const host = ['0.0.0.0', '::'].includes(config.admin.host) ? '127.0.0.1' : config.admin.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${config.admin.port}/healthz`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(3000) });
    if (response.ok) return 0;
    process.stderr.write(`gatehouse: ${url} answered ${response.status}\n`);
  } catch (error) {
    process.stderr.write(`gatehouse: ${url} did not answer: ${(error as Error).message}\n`);
  }
  return 1;
}

function workerCount(value: string | undefined): number | undefined {
  if (value === undefined) return 1;
  if (value === 'auto') return availableParallelism();
  const count = Number(value);
  return Number.isInteger(count) && count >= 1 && count <= 64 ? count : undefined;
}
